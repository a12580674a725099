//! Small pieces every page uses. Props are typed signals with doc comments; a disabled control
//! stays focusable (`aria-disabled`) and says why.

mod action_error;
mod button;
mod cluster_table;
mod copy;
mod dialog;
mod field;
mod gateway;
mod key_health;
mod notice;
mod pager;
mod status;

pub use action_error::{ActionError, KeyRefusalLinks};
pub use button::{Button, ButtonKind};
pub use cluster_table::{ClusterTable, any_transitional};
pub use copy::{CopyButton, DownloadButton, EquivalentRequest, download, post_curl};
pub use dialog::ConfirmDialog;
pub use field::{Field, FieldMessage, FormErrors, FormField, TextField, focus};
pub use gateway::GatewayStatus;
pub use key_health::{HealthFacts, KeyHealthPanel};
pub use notice::{ErrorNotice, Loading};
pub use pager::Pager;
pub use status::{ClusterStatusBadge, CmekBadge, KeyHealthBadge};

use std::sync::atomic::{AtomicUsize, Ordering};

/// A document-unique id for `aria-describedby` and `for` links.
pub fn unique_id(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
