//! Who may see and do what: roles, the scope an account is confined to, and the one
//! permission table.
//!
//! Every action of every party on every kind of object is one row of [`table!`]
//! below: the action, the kind of object and the verb it is (for the permission
//! matrix), and how far each party reaches with it. Nothing else in Grassroots
//! decides whether a role may do something: the store's account-bound handle
//! (`store::Scoped`) looks the action up here once and confines its queries to the
//! reach it finds, and pages show a button only where the same lookup allows it. A
//! new feature adds its rows here and its probes to the permission matrix test
//! (`crates/web/tests/permissions.rs`), whose exhaustive `match` over [`Action`]
//! does not compile until it does.
//!
//! ```
//! use domain::access::{Action, Party, Reach};
//! use domain::Role;
//!
//! assert_eq!(Action::UnitUpdate.reach(Party::Role(Role::Coordinator)), Reach::Scope);
//! assert_eq!(Action::UnitUpdate.reach(Party::Role(Role::Supervisor)), Reach::No);
//! assert_eq!(Action::BulletinRead.reach(Party::Public), Reach::Public);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DivisionCode, Error, Level, Step};

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

/// Whoever acts: a signed-in account of some role, anyone at all (the public pages),
/// or the holder of a meeting's join link, which is a credential of its own for one
/// venue (or, the chair's, for the meeting) and needs no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// A signed-in account.
    Role(Role),
    /// Anyone, signed in or not.
    Public,
    /// A branch or main venue's join link.
    Venue,
    /// The chair's link of a meeting.
    Chair,
}

impl Party {
    /// Every party, in the order of the table's columns.
    pub const ALL: [Party; 8] = [
        Party::Role(Role::Office),
        Party::Role(Role::Coordinator),
        Party::Role(Role::Lecturer),
        Party::Role(Role::UnitContact),
        Party::Role(Role::Supervisor),
        Party::Public,
        Party::Venue,
        Party::Chair,
    ];

    /// Its column in the table.
    const fn column(self) -> usize {
        match self {
            Party::Role(Role::Office) => 0,
            Party::Role(Role::Coordinator) => 1,
            Party::Role(Role::Lecturer) => 2,
            Party::Role(Role::UnitContact) => 3,
            Party::Role(Role::Supervisor) => 4,
            Party::Public => 5,
            Party::Venue => 6,
            Party::Chair => 7,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Role(r) => write!(f, "{r}"),
            Party::Public => f.write_str("visitor"),
            Party::Venue => f.write_str("venue link"),
            Party::Chair => f.write_str("chair's link"),
        }
    }
}

/// How far a party reaches with an action. Reaches are cumulative: a party that
/// reaches its scope also reaches its own objects and what is public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// Not at all: refused as forbidden.
    No,
    /// What anyone may see: published bulletins and their photos, and the campaigns
    /// they report on.
    Public,
    /// The party's own objects: its notifications, its account, the photos it
    /// uploaded; a lecturer's requests (assigned to it, or open to its lecture group);
    /// a link's own venue or meeting.
    Own,
    /// Everything that lies in the account's scope (for the office, everything).
    Scope,
}

/// The kinds of object actions apply to, for the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Divisions of the tree (regions).
    Division,
    /// Coverage and supervision reports of a region.
    Report,
    /// Units.
    Unit,
    /// Lecturers.
    Lecturer,
    /// Lecture groups: made and kept by lecturer writes; no action reaches one alone.
    Group,
    /// Sessions.
    Session,
    /// Lecture requests.
    Request,
    /// Photos.
    Photo,
    /// Bulletins.
    Bulletin,
    /// Live meetings.
    Meeting,
    /// A meeting's venues.
    Venue,
    /// In-app notifications.
    Notification,
    /// Accounts.
    Account,
    /// Campaigns.
    Campaign,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 14] = [
        Kind::Division,
        Kind::Report,
        Kind::Unit,
        Kind::Lecturer,
        Kind::Group,
        Kind::Session,
        Kind::Request,
        Kind::Photo,
        Kind::Bulletin,
        Kind::Meeting,
        Kind::Venue,
        Kind::Notification,
        Kind::Account,
        Kind::Campaign,
    ];
}

/// What an action does to its object, for the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// See one.
    Read,
    /// See a list.
    List,
    /// Make one.
    Create,
    /// Change one (or move it along its life).
    Update,
    /// Remove one.
    Delete,
    /// Write many from a file.
    Import,
    /// Take many away as a file.
    Export,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 7] = [Verb::Read, Verb::List, Verb::Create, Verb::Update, Verb::Delete, Verb::Import, Verb::Export];
}

/// No reach (a column of the table).
const __: Reach = Reach::No;
/// Published objects only.
const PU: Reach = Reach::Public;
/// The party's own objects.
const OW: Reach = Reach::Own;
/// The account's scope.
const SC: Reach = Reach::Scope;

/// Defines [`Action`] and its table from one list of rows, so that an action cannot
/// exist without its row.
macro_rules! table {
    ($( $action:ident $kind:ident $verb:ident [$($reach:ident)*] $what:literal; )*) => {
        /// Something a party may want to do: one row of the permission table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $( #[doc = $what] $action, )*
        }

        impl Action {
            /// Every action, in the table's order.
            pub const ALL: &'static [Action] = &[$(Action::$action),*];

            /// The kind of object it acts on.
            pub const fn kind(self) -> Kind {
                match self { $(Action::$action => Kind::$kind,)* }
            }

            /// What it does to that object.
            pub const fn verb(self) -> Verb {
                match self { $(Action::$action => Verb::$verb,)* }
            }

            /// The action in words ("create units"), for messages.
            pub const fn what(self) -> &'static str {
                match self { $(Action::$action => $what,)* }
            }

            /// The row: each party's reach, in the order of [`Party::ALL`].
            const fn row(self) -> [Reach; 8] {
                match self { $(Action::$action => [$($reach),*],)* }
            }
        }
    };
}

table! {
    //                                            office coord lecturer contact supervisor public venue chair
    DivisionRead        Division     Read    [SC SC SC __ SC __ __ __] "see a region";
    DivisionImport      Division     Import  [SC __ __ __ __ __ __ __] "import the division tree";

    CoverageRead        Report       Read    [SC SC SC __ SC __ __ __] "see coverage";
    CoverageExport      Report       Export  [SC SC SC __ SC __ __ __] "export coverage";
    SupervisionRead     Report       Read    [SC SC __ __ SC __ __ __] "supervise a campaign";

    UnitList            Unit         List    [SC SC SC SC SC __ __ __] "list units";
    UnitRead            Unit         Read    [SC SC SC SC SC __ __ __] "see a unit";
    UnitCreate          Unit         Create  [SC SC __ __ __ __ __ __] "add units";
    UnitUpdate          Unit         Update  [SC SC __ __ __ __ __ __] "change units";
    UnitImport          Unit         Import  [SC SC __ __ __ __ __ __] "import units";
    UnitExport          Unit         Export  [SC SC SC SC SC __ __ __] "export units";

    LecturerList        Lecturer     List    [SC SC SC __ SC __ __ __] "list lecturers";
    LecturerRead        Lecturer     Read    [SC SC SC __ SC __ __ __] "see a lecturer";
    LecturerCreate      Lecturer     Create  [SC SC __ __ __ __ __ __] "add lecturers";
    LecturerUpdate      Lecturer     Update  [SC SC __ __ __ __ __ __] "change lecturers";
    LecturerImport      Lecturer     Import  [SC SC __ __ __ __ __ __] "import lecturers";
    LecturerExport      Lecturer     Export  [SC SC SC __ SC __ __ __] "export lecturers";

    SessionList         Session      List    [SC SC SC SC SC __ __ __] "list sessions";
    SessionRead         Session      Read    [SC SC SC SC SC __ __ __] "see a session";
    SessionCreate       Session      Create  [SC SC SC __ __ __ __ __] "report sessions";
    SessionPlan         Session      Create  [SC SC __ __ __ __ __ __] "plan sessions";
    SessionUpdate       Session      Update  [SC SC SC __ __ __ __ __] "change session reports";
    SessionAttachPhotos Session      Update  [SC SC SC __ __ __ __ __] "attach photos to sessions";
    SessionImport       Session      Import  [SC SC __ __ __ __ __ __] "import sessions";
    SessionExport       Session      Export  [SC SC SC SC SC __ __ __] "export sessions";

    RequestList         Request      List    [SC SC OW SC SC __ __ __] "list lecture requests";
    RequestRead         Request      Read    [SC SC OW SC SC __ __ __] "see a lecture request";
    RequestWork         Request      List    [__ __ OW __ __ __ __ __] "see a lecturer's own work";
    RequestSuggest      Request      Read    [SC SC __ __ __ __ __ __] "see lecturers suggested for a request";
    RequestCreate       Request      Create  [SC SC __ SC __ __ __ __] "request lectures";
    RequestReview       Request      Update  [SC SC __ __ __ __ __ __] "review requests";
    RequestReject       Request      Update  [SC SC __ __ __ __ __ __] "reject requests";
    RequestAssign       Request      Update  [SC SC __ __ __ __ __ __] "assign requests";
    RequestOpen         Request      Update  [SC SC __ __ __ __ __ __] "open requests to claims";
    RequestClaim        Request      Update  [__ __ OW __ __ __ __ __] "claim requests";
    RequestAccept       Request      Update  [__ __ OW __ __ __ __ __] "accept requests";
    RequestDecline      Request      Update  [__ __ OW __ __ __ __ __] "decline requests";
    RequestReport       Request      Update  [__ __ OW __ __ __ __ __] "report requests held";
    RequestRate         Request      Update  [__ __ __ SC __ __ __ __] "rate lectures";
    RequestCancel       Request      Update  [SC SC OW SC __ __ __ __] "cancel requests";

    PhotoRead           Photo        Read    [SC SC SC SC SC PU __ __] "see photos";
    PhotoCreate         Photo        Create  [SC SC SC __ __ __ __ __] "upload photos";

    BulletinList        Bulletin     List    [SC SC PU PU PU PU __ __] "list bulletins";
    BulletinRead        Bulletin     Read    [SC SC PU PU PU PU __ __] "read bulletins";
    BulletinCreate      Bulletin     Create  [SC SC __ __ __ __ __ __] "write bulletins";
    BulletinUpdate      Bulletin     Update  [SC SC __ __ __ __ __ __] "change bulletins";
    BulletinPublish     Bulletin     Update  [SC SC __ __ __ __ __ __] "publish bulletins";

    MeetingList         Meeting      List    [SC __ __ __ __ __ __ __] "list meetings";
    MeetingRead         Meeting      Read    [SC __ __ __ __ __ __ __] "see a meeting and its links";
    MeetingCreate       Meeting      Create  [SC __ __ __ __ __ __ __] "create meetings";
    MeetingClose        Meeting      Update  [SC __ __ __ __ __ __ OW] "close meetings";
    MeetingChair        Meeting      Update  [__ __ __ __ __ __ __ OW] "chair meetings";

    VenueJoin           Venue        Read    [__ __ __ __ __ __ OW OW] "join a meeting as a venue";
    VenueSignIn         Venue        Update  [__ __ __ __ __ __ OW OW] "sign a venue in";
    VenueHand           Venue        Update  [__ __ __ __ __ __ OW OW] "ask to speak";

    NotificationList    Notification List    [OW OW OW OW OW __ __ __] "see notifications";
    NotificationUpdate  Notification Update  [OW OW OW OW OW __ __ __] "mark notifications read";

    AccountRead         Account      Read    [OW OW OW OW OW __ __ __] "see an account";

    CampaignList        Campaign     List    [SC SC SC SC SC PU __ __] "list campaigns";
    CampaignRead        Campaign     Read    [SC SC SC SC SC PU __ __] "see a campaign";
    CampaignUpdate      Campaign     Update  [SC __ __ __ __ __ __ __] "change campaigns";
}

impl Action {
    /// How far `party` reaches with this action.
    pub const fn reach(self, party: Party) -> Reach {
        self.row()[party.column()]
    }

    /// Whether `party` may take this action at all (somewhere).
    pub const fn allows(self, party: Party) -> bool {
        !matches!(self.reach(party), Reach::No)
    }

    /// The action that takes a step in a request's life.
    pub const fn step(step: Step) -> Action {
        match step {
            Step::Review => Action::RequestReview,
            Step::Reject => Action::RequestReject,
            Step::Assign => Action::RequestAssign,
            Step::OpenToClaim => Action::RequestOpen,
            Step::Claim => Action::RequestClaim,
            Step::Accept => Action::RequestAccept,
            Step::Decline => Action::RequestDecline,
            Step::Report => Action::RequestReport,
            Step::Rate => Action::RequestRate,
            Step::Cancel => Action::RequestCancel,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what())
    }
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
    fn roles_read_back() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("admin".parse::<Role>().is_err());
    }

    /// A few rows read as DESIGN.md's table says: the office everywhere, coordinators
    /// keep their subtree, supervisors only read, the public reads what is published.
    #[test]
    fn the_table_reads_as_the_design_says() {
        let role = |r| Party::Role(r);
        for a in Action::ALL {
            assert!(a.reach(Party::Public) <= Reach::Public, "the public reaches only what is published: {a:?}");
            if matches!(a.verb(), Verb::Create | Verb::Update | Verb::Delete | Verb::Import) {
                assert!(a.reach(role(Role::Supervisor)) <= Reach::Own, "supervisors change nothing but their own: {a:?}");
            }
            if a.kind() != Kind::Venue && *a != Action::MeetingChair && *a != Action::RequestWork {
                assert!(a.reach(role(Role::Office)) >= a.reach(role(Role::Coordinator)), "the office may do what a coordinator may: {a:?}");
            }
            assert_eq!(Action::ALL.iter().filter(|b| **b == *a).count(), 1, "one row per action: {a:?}");
        }
        assert_eq!(Action::CampaignUpdate.reach(role(Role::Coordinator)), Reach::No);
        assert_eq!(Action::DivisionImport.reach(role(Role::Coordinator)), Reach::No);
        assert_eq!(Action::UnitImport.reach(role(Role::Coordinator)), Reach::Scope);
        assert_eq!(Action::SessionCreate.reach(role(Role::Lecturer)), Reach::Scope);
        assert_eq!(Action::UnitUpdate.reach(role(Role::Lecturer)), Reach::No);
        assert_eq!(Action::RequestAccept.reach(role(Role::Lecturer)), Reach::Own);
        assert_eq!(Action::MeetingChair.reach(Party::Venue), Reach::No);
        assert_eq!(Action::MeetingChair.reach(Party::Chair), Reach::Own);
        assert!(Reach::Scope > Reach::Own && Reach::Own > Reach::Public && Reach::Public > Reach::No);
    }

    #[test]
    fn every_step_is_an_action_on_a_request() {
        for step in Step::ALL {
            let a = Action::step(step);
            assert_eq!((a.kind(), a.verb()), (Kind::Request, Verb::Update), "{step}");
        }
    }

    #[test]
    fn parties_are_the_columns_in_order() {
        for (i, p) in Party::ALL.iter().enumerate() {
            assert_eq!(p.column(), i);
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
