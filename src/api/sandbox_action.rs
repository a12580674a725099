//! The sandbox KMS's one-word key changes (`POST …/sandbox-kms/keys/{key_id}/{action}`), named.

/// A change to a sandbox key that takes no body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxKeyAction {
    Disable,
    Enable,
    CancelDeletion,
    /// Rotate the key material now (on demand).
    Rotate,
}

impl SandboxKeyAction {
    /// The last segment of its path.
    pub const fn path_segment(self) -> &'static str {
        match self {
            SandboxKeyAction::Disable => "disable",
            SandboxKeyAction::Enable => "enable",
            SandboxKeyAction::CancelDeletion => "cancel-deletion",
            SandboxKeyAction::Rotate => "rotate",
        }
    }
}
