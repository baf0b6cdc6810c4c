//! A content digest of the tree, for replica agreement checks.
