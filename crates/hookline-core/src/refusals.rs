//! The two ways a change can collide with the organization's other rows, as every service that
//! makes such a change refuses it: a name already taken, and a resource others still name. The
//! HTTP layer answers both as 409s with a problem type of their own (`http::problem`).

use uuid::Uuid;

/// A name that must be unique is taken.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct NameTaken {
    pub detail: String,
    /// The field holding the name and what is wrong with it; none when the clash is between
    /// two entries of one request (two tools of one name on a persona).
    pub field: Option<(&'static str, String)>,
}

impl NameTaken {
    /// `name` is taken by another of the organization's `noun`s (`a_noun`: "a tool").
    pub fn in_organization(a_noun: &str, noun: &str, name: &str) -> Self {
        Self {
            detail: format!("{a_noun} named {name:?} exists already"),
            field: Some((
                "name",
                format!("is taken by another {noun} of your organization"),
            )),
        }
    }
}

/// A resource others still name: deleting it needs `?force=true`.
#[derive(Debug, thiserror::Error)]
#[error("{what} is used by {}; {instead} or delete with ?force=true", crate::text::counted(.users.len(), .noun))]
pub struct InUse {
    /// The resource, as a sentence begins with it (`the tool`).
    pub what: &'static str,
    /// Those that name it, by id and name.
    pub users: Vec<(Uuid, String)>,
    /// One of them (`persona`), and the problem's member that lists them (`personas`).
    pub noun: &'static str,
    pub key: &'static str,
    /// What to do instead of forcing (`detach it first`).
    pub instead: &'static str,
}
