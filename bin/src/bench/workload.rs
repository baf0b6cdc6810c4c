//! What each workload asks the server, and the node layout it needs beforehand.

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use rzk_core::proto::records::{
    Acl, CreateRequest, GetChildrenRequest, GetDataRequest, Id, SetDataRequest,
};
use rzk_core::proto::request::RequestBody;
use rzk_core::proto::OpCode;

/// The workloads `rzk bench` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// create of unique paths with --value-size byte values.
    Create,
    /// setData over the pre-created key set.
    Set,
    /// getData over the pre-created key set.
    Get,
    /// getChildren over pre-created parents with 10 children each.
    Children,
    /// 90% getData, 10% setData over the key set.
    Mixed,
    /// Watch fan-out: every session sets a data watch on one node, one write fires them all.
    Watch,
    /// Connect, create an ephemeral node, close the session; one op is the whole cycle.
    Churn,
    /// Not a workload: wait until the server answers `ruok` (optionally launching it) and print the time.
    Ready,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Set => "set",
            Workload::Get => "get",
            Workload::Children => "children",
            Workload::Mixed => "mixed",
            Workload::Watch => "watch",
            Workload::Churn => "churn",
            Workload::Ready => "ready",
        }
    }
}

/// Children per parent in the `children` workload.
pub const CHILDREN_PER_PARENT: usize = 10;

/// Where one run's nodes live: `/rzkbench/<run>`, so rounds against one server never collide.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: String,
    pub keys: usize,
    pub value: Bytes,
}

impl Layout {
    pub fn key(&self, i: usize) -> String {
        format!("{}/k{i}", self.dir)
    }
    pub fn session_dir(&self, session: usize) -> String {
        format!("{}/s{session}", self.dir)
    }
    pub fn watched(&self) -> String {
        format!("{}/w", self.dir)
    }
}

pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

pub fn create(path: String, data: Bytes, ephemeral: bool) -> (OpCode, RequestBody) {
    (
        OpCode::Create,
        RequestBody::Create(CreateRequest {
            path,
            data: data.into(),
            acl: open_acl(),
            flags: if ephemeral { 1 } else { 0 },
        }),
    )
}

pub fn get_data(path: String, watch: bool) -> (OpCode, RequestBody) {
    (
        OpCode::GetData,
        RequestBody::GetData(GetDataRequest { path, watch }),
    )
}

pub fn set_data(path: String, data: Bytes) -> (OpCode, RequestBody) {
    (
        OpCode::SetData,
        RequestBody::SetData(SetDataRequest {
            path,
            data: data.into(),
            version: -1,
        }),
    )
}

/// Generates the next request of a pipelined workload (create, set, get, children, mixed) for one session.
pub struct RequestGen {
    workload: Workload,
    layout: Layout,
    rng: ChaCha8Rng,
    session: usize,
    created: u64,
}

impl RequestGen {
    pub fn new(workload: Workload, layout: Layout, rng: ChaCha8Rng, session: usize) -> RequestGen {
        RequestGen {
            workload,
            layout,
            rng,
            session,
            created: 0,
        }
    }

    fn random_key(&mut self) -> String {
        let i = (self.rng.next_u64() % self.layout.keys.max(1) as u64) as usize;
        self.layout.key(i)
    }

    pub fn next(&mut self) -> (OpCode, RequestBody) {
        match self.workload {
            Workload::Create => {
                self.created += 1;
                let path = format!(
                    "{}/n{}",
                    self.layout.session_dir(self.session),
                    self.created
                );
                create(path, self.layout.value.clone(), false)
            }
            Workload::Set => set_data(self.random_key(), self.layout.value.clone()),
            Workload::Get => get_data(self.random_key(), false),
            Workload::Children => (
                OpCode::GetChildren,
                RequestBody::GetChildren(GetChildrenRequest {
                    path: self.random_key(),
                    watch: false,
                }),
            ),
            // One write in ten.
            Workload::Mixed => match self.rng.next_u32() % 10 {
                0 => set_data(self.random_key(), self.layout.value.clone()),
                _ => get_data(self.random_key(), false),
            },
            Workload::Watch | Workload::Churn | Workload::Ready => {
                unreachable!("not a pipelined workload")
            }
        }
    }
}
