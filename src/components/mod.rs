//! Small pieces every page uses. Props are typed signals with doc comments; a disabled control
//! stays focusable (`aria-disabled`) and says why.

mod button;
mod cluster_table;
mod copy;
mod dialog;
mod gateway;
mod notice;
mod pager;
mod status;

pub use button::{Button, ButtonKind};
pub use cluster_table::{ClusterTable, any_transitional};
pub use copy::{CopyButton, DownloadButton, EquivalentRequest, download};
pub use dialog::ConfirmDialog;
pub use gateway::GatewayStatus;
pub use notice::{ErrorNotice, Loading};
pub use pager::Pager;
pub use status::{ClusterStatusBadge, CmekBadge, KeyHealthBadge};

use std::sync::atomic::{AtomicUsize, Ordering};

/// A document-unique id for `aria-describedby` and `for` links.
pub fn unique_id(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
