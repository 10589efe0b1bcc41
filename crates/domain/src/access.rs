//! Who may see and do what: roles, the scope an account is confined to, and the
//! permission table. Pure rules; the store applies them to every query and write
//! (`store::Viewer`), so no handler can forget them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DivisionCode, Error, Level};

/// An account's role (DESIGN.md, "The people who use Grassroots").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The provincial campaign office: the whole tree, everything.
    Office,
    /// A city, county or township coordinator: keeps its own subtree.
    Coordinator,
    /// A lecturer: reports sessions in its scope.
    Lecturer,
    /// A unit's contact: its own unit only.
    UnitContact,
    /// A supervisor: reads a subtree, changes nothing.
    Supervisor,
}

impl Role {
    /// Every role, in the order of the design.
    pub const ALL: [Role; 5] = [Role::Office, Role::Coordinator, Role::Lecturer, Role::UnitContact, Role::Supervisor];

    /// The role as stored and written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Office => "office",
            Role::Coordinator => "coordinator",
            Role::Lecturer => "lecturer",
            Role::UnitContact => "unit-contact",
            Role::Supervisor => "supervisor",
        }
    }

    /// Whether the role may do `action` (within its scope).
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Office => true,
            Role::Coordinator => matches!(action, ReportSession | EditUnit | EditLecturer | ImportRows),
            Role::Lecturer => matches!(action, ReportSession),
            Role::UnitContact | Role::Supervisor => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Role, Error> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| Error::UnknownRole(s.to_owned()))
    }
}

/// Something an account may want to change. Reading is allowed to every role, within
/// its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add or edit a session report.
    ReportSession,
    /// Add or edit an organization unit.
    EditUnit,
    /// Add or edit a lecturer.
    EditLecturer,
    /// Import units, lecturers or sessions from a file (each row within scope).
    ImportRows,
    /// Import the division tree itself.
    ImportDivisions,
    /// Change a campaign's settings.
    EditCampaign,
}

/// The part of the tree an account sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    /// The whole tree.
    All,
    /// A division and everything under it.
    Division {
        /// The division.
        code: DivisionCode,
    },
    /// One unit.
    Unit {
        /// The division the unit is attached to.
        division: DivisionCode,
        /// The unit's code.
        unit: String,
    },
}

impl Scope {
    /// Whether a division lies in this scope, given its code and its ancestors'
    /// (any order). A unit scope holds no whole division.
    pub fn holds_division(&self, chain: &[i64]) -> bool {
        match self {
            Scope::All => true,
            Scope::Division { code } => chain.contains(&code.value()),
            Scope::Unit { .. } => false,
        }
    }

    /// Whether a unit lies in this scope, given its code and its division's chain.
    pub fn holds_unit(&self, unit: &str, chain: &[i64]) -> bool {
        match self {
            Scope::Unit { unit: own, .. } => own == unit,
            other => other.holds_division(chain),
        }
    }

    /// The division the scope is rooted at, if any.
    pub fn root(&self) -> Option<DivisionCode> {
        match self {
            Scope::All => None,
            Scope::Division { code } => Some(*code),
            Scope::Unit { division, .. } => Some(*division),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("everything"),
            Scope::Division { code } => write!(f, "{code}"),
            Scope::Unit { division, unit } => write!(f, "unit {unit} (in {division})"),
        }
    }
}

/// Checks that a role and a scope fit together: the office sees everything, a unit
/// contact exactly one unit, everyone else one division at township level or above
/// (a village is a unit).
pub fn check_scope(role: Role, scope: &Scope) -> Result<(), Error> {
    let article = if role == Role::Office { "an" } else { "a" };
    let refuse = |m: &str| Err(Error::Scope(format!("{article} {role} {m}")));
    match (role, scope) {
        (Role::Office, Scope::All) => Ok(()),
        (Role::Office, _) => refuse("sees the whole tree; give no --scope or --unit"),
        (Role::UnitContact, Scope::Unit { .. }) => Ok(()),
        (Role::UnitContact, _) => refuse("needs --unit CODE"),
        (_, Scope::All) => refuse("needs --scope CODE (a division)"),
        (_, Scope::Unit { .. }) => refuse("is scoped to a division, not a unit; give --scope, not --unit"),
        (_, Scope::Division { code }) if code.level() == Level::Village => {
            refuse("is scoped to a subtree: a township or above (a village is a unit; its contact takes --unit)")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        s.parse().unwrap()
    }

    #[test]
    fn roles_read_and_write() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("admin".parse::<Role>().is_err());
        assert!(Role::Office.may(Action::EditCampaign));
        assert!(Role::Coordinator.may(Action::ImportRows));
        assert!(!Role::Coordinator.may(Action::ImportDivisions));
        assert!(!Role::Coordinator.may(Action::EditCampaign));
        assert!(Role::Lecturer.may(Action::ReportSession));
        assert!(!Role::Lecturer.may(Action::EditUnit));
        for a in [Action::ReportSession, Action::EditUnit, Action::EditLecturer, Action::ImportRows] {
            assert!(!Role::Supervisor.may(a));
            assert!(!Role::UnitContact.may(a));
        }
    }

    #[test]
    fn scopes_hold_what_lies_under_them() {
        let harbin = Scope::Division { code: code("2301") };
        let chain = [23, 2301, 230102, 230102001];
        assert!(harbin.holds_division(&chain));
        assert!(!harbin.holds_division(&[23, 2302, 230202]));
        assert!(Scope::All.holds_division(&[23]));
        let unit = Scope::Unit { division: code("230102001001"), unit: "230102001001".into() };
        assert!(!unit.holds_division(&chain));
        assert!(unit.holds_unit("230102001001", &chain));
        assert!(!unit.holds_unit("230102001002", &chain));
        assert!(harbin.holds_unit("E230102", &chain));
    }

    #[test]
    fn roles_need_fitting_scopes() {
        let county = Scope::Division { code: code("230102") };
        let unit = Scope::Unit { division: code("230102001001"), unit: "x".into() };
        assert!(check_scope(Role::Office, &Scope::All).is_ok());
        assert!(check_scope(Role::Office, &county).is_err());
        assert!(check_scope(Role::Coordinator, &county).is_ok());
        assert!(check_scope(Role::Coordinator, &Scope::All).is_err());
        assert!(check_scope(Role::Coordinator, &Scope::Division { code: code("230102001001") }).is_err());
        assert!(check_scope(Role::Supervisor, &unit).is_err());
        assert!(check_scope(Role::Supervisor, &Scope::Division { code: code("230102001001") }).is_err());
        assert!(check_scope(Role::UnitContact, &unit).is_ok());
        assert!(check_scope(Role::UnitContact, &county).is_err());
    }
}
