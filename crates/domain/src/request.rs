//! A unit's order for a lecture and its life: requested → reviewed (or rejected) →
//! assigned to a lecturer (or opened to the lecture groups, to be claimed) → accepted
//! (or declined, back to the coordinator) → held (the lecturer's report) → rated by
//! the unit; cancelled by either side before it is held.
//!
//! The rules are here, free of I/O: [`RequestState::apply`] takes the step asked for and
//! the facts about who asks (their role and how they stand to this request, which the
//! store works out), and gives the next state or the reason for refusing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Role};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Ordered by a unit, waiting for a coordinator's review.
    Requested,
    /// Accepted by a coordinator, waiting for a lecturer (or back from a decline).
    Reviewed,
    /// Refused by a coordinator, with a reason the requester sees. Final.
    Rejected,
    /// Given to a lecturer, waiting for their answer.
    Assigned,
    /// Opened to the lecture groups in scope: the first lecturer to claim it gets it.
    Open,
    /// A lecturer will give it.
    Accepted,
    /// Given; the report is a session.
    Held,
    /// Rated by the unit. Final.
    Rated,
    /// Called off before it was held. Final.
    Cancelled,
}

impl Actor {
    /// An account of `role` with no standing to any request.
    pub fn outsider(role: Role) -> Actor {
        Actor { role, holds_unit: false, is_requester: false, is_assigned: false, may_serve: false }
    }
}

impl RequestState {
    /// Every state, in life order.
    pub const ALL: [RequestState; 9] = [
        RequestState::Requested,
        RequestState::Reviewed,
        RequestState::Rejected,
        RequestState::Assigned,
        RequestState::Open,
        RequestState::Accepted,
        RequestState::Held,
        RequestState::Rated,
        RequestState::Cancelled,
    ];

    /// The state as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Requested => "requested",
            RequestState::Reviewed => "reviewed",
            RequestState::Rejected => "rejected",
            RequestState::Assigned => "assigned",
            RequestState::Open => "open",
            RequestState::Accepted => "accepted",
            RequestState::Held => "held",
            RequestState::Rated => "rated",
            RequestState::Cancelled => "cancelled",
        }
    }

    /// Whether nothing more can happen to the request.
    pub fn is_final(self) -> bool {
        matches!(self, RequestState::Rejected | RequestState::Rated | RequestState::Cancelled)
    }

    /// The state after `step` taken by `actor`, or why it may not be taken.
    pub fn apply(self, step: Step, actor: Actor) -> Result<RequestState, Refusal> {
        use RequestState as S;
        use Step::*;
        let (from, to, who): (&[RequestState], RequestState, Who) = match step {
            Review => (&[S::Requested], S::Reviewed, Who::Coordinator),
            Reject => (&[S::Requested], S::Rejected, Who::Coordinator),
            Assign => (&[S::Reviewed], S::Assigned, Who::Coordinator),
            OpenToClaim => (&[S::Reviewed], S::Open, Who::Coordinator),
            Claim => (&[S::Open], S::Accepted, Who::EligibleLecturer),
            Accept => (&[S::Assigned], S::Accepted, Who::AssignedLecturer),
            Decline => (&[S::Assigned], S::Reviewed, Who::AssignedLecturer),
            Report => (&[S::Accepted], S::Held, Who::AssignedLecturer),
            Rate => (&[S::Held], S::Rated, Who::Requester),
            Cancel => (&[S::Requested, S::Reviewed, S::Assigned, S::Open, S::Accepted], S::Cancelled, Who::EitherSide),
        };
        if !from.contains(&self) {
            return Err(Refusal::WrongState { state: self, step });
        }
        let allowed = match who {
            Who::Coordinator => actor.role == Role::Coordinator || actor.role == Role::Office,
            Who::EligibleLecturer | Who::AssignedLecturer => actor.role == Role::Lecturer,
            Who::Requester => actor.role == Role::UnitContact,
            Who::EitherSide => matches!(actor.role, Role::UnitContact | Role::Coordinator | Role::Office | Role::Lecturer),
        };
        if !allowed {
            return Err(Refusal::WrongRole { role: actor.role, step });
        }
        let in_place = match who {
            Who::Coordinator => actor.holds_unit,
            Who::EligibleLecturer => actor.may_serve,
            Who::AssignedLecturer => actor.is_assigned,
            Who::Requester => actor.is_requester,
            Who::EitherSide => match actor.role {
                Role::UnitContact => actor.is_requester,
                Role::Lecturer => actor.is_assigned,
                _ => actor.holds_unit,
            },
        };
        if !in_place {
            return Err(Refusal::NotYours { step });
        }
        Ok(to)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = Error;

    fn from_str(s: &str) -> Result<RequestState, Error> {
        RequestState::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| Error::UnknownState(s.to_owned()))
    }
}

/// A step in a request's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A coordinator accepts the request for dispatch.
    Review,
    /// A coordinator refuses it, with a reason.
    Reject,
    /// A coordinator gives it to a lecturer.
    Assign,
    /// A coordinator opens it to the lecture groups in scope.
    OpenToClaim,
    /// A lecturer takes an open request.
    Claim,
    /// The assigned lecturer agrees.
    Accept,
    /// The assigned lecturer refuses: back to the coordinator.
    Decline,
    /// The lecturer reports it held.
    Report,
    /// The unit rates it.
    Rate,
    /// Either side calls it off, with a reason.
    Cancel,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 10] =
        [Step::Review, Step::Reject, Step::Assign, Step::OpenToClaim, Step::Claim, Step::Accept, Step::Decline, Step::Report, Step::Rate, Step::Cancel];

    /// The step as URLs and the history name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Review => "review",
            Step::Reject => "reject",
            Step::Assign => "assign",
            Step::OpenToClaim => "open",
            Step::Claim => "claim",
            Step::Accept => "accept",
            Step::Decline => "decline",
            Step::Report => "report",
            Step::Rate => "rate",
            Step::Cancel => "cancel",
        }
    }

    /// Whether the step needs a reason in words.
    pub fn needs_reason(self) -> bool {
        matches!(self, Step::Reject | Step::Decline | Step::Cancel)
    }
}

impl FromStr for Step {
    type Err = Error;

    fn from_str(s: &str) -> Result<Step, Error> {
        Step::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| Error::UnknownStep(s.to_owned()))
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may take a step.
enum Who {
    Coordinator,
    EligibleLecturer,
    AssignedLecturer,
    Requester,
    EitherSide,
}

/// The facts about the account taking a step, as they stand to this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The account's role.
    pub role: Role,
    /// Its scope holds the request's unit (coordinators, the office).
    pub holds_unit: bool,
    /// It is the unit's contact.
    pub is_requester: bool,
    /// It is the lecturer the request is assigned to (or was claimed by).
    pub is_assigned: bool,
    /// It is a lecturer of a lecture group that may serve the unit (at or above the
    /// unit's county, within the scope the request was opened to).
    pub may_serve: bool,
}

/// Why a step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request is not in a state the step starts from.
    #[error("a request that is {state} cannot be {}", past(*step))]
    WrongState {
        /// Where it stands.
        state: RequestState,
        /// The step asked for.
        step: Step,
    },
    /// The role does not take this step.
    #[error("a {role} cannot {step} a request")]
    WrongRole {
        /// The role.
        role: Role,
        /// The step asked for.
        step: Step,
    },
    /// The account has the role but not this request (another unit, another lecturer).
    #[error("this request is not yours to {step}")]
    NotYours {
        /// The step asked for.
        step: Step,
    },
}

fn past(step: Step) -> &'static str {
    match step {
        Step::Review => "reviewed",
        Step::Reject => "rejected",
        Step::Assign => "assigned",
        Step::OpenToClaim => "opened to claims",
        Step::Claim => "claimed",
        Step::Accept => "accepted",
        Step::Decline => "declined",
        Step::Report => "reported",
        Step::Rate => "rated",
        Step::Cancel => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestState as S;

    fn coordinator() -> Actor {
        Actor { role: Role::Coordinator, holds_unit: true, ..Actor::outsider(Role::Supervisor) }
    }
    fn office() -> Actor {
        Actor { role: Role::Office, holds_unit: true, ..Actor::outsider(Role::Supervisor) }
    }
    fn assigned() -> Actor {
        Actor { role: Role::Lecturer, is_assigned: true, ..Actor::outsider(Role::Supervisor) }
    }
    fn eligible() -> Actor {
        Actor { role: Role::Lecturer, may_serve: true, ..Actor::outsider(Role::Supervisor) }
    }
    fn requester() -> Actor {
        Actor { role: Role::UnitContact, is_requester: true, ..Actor::outsider(Role::Supervisor) }
    }

    /// Every allowed transition, by the right actor.
    #[test]
    fn every_allowed_step() {
        let cases = [
            (S::Requested, Step::Review, coordinator(), S::Reviewed),
            (S::Requested, Step::Review, office(), S::Reviewed),
            (S::Requested, Step::Reject, coordinator(), S::Rejected),
            (S::Reviewed, Step::Assign, coordinator(), S::Assigned),
            (S::Reviewed, Step::OpenToClaim, coordinator(), S::Open),
            (S::Open, Step::Claim, eligible(), S::Accepted),
            (S::Assigned, Step::Accept, assigned(), S::Accepted),
            (S::Assigned, Step::Decline, assigned(), S::Reviewed),
            (S::Accepted, Step::Report, assigned(), S::Held),
            (S::Held, Step::Rate, requester(), S::Rated),
        ];
        for (from, step, actor, to) in cases {
            assert_eq!(from.apply(step, actor), Ok(to), "{from} {step}");
        }
        for from in [S::Requested, S::Reviewed, S::Assigned, S::Open, S::Accepted] {
            assert_eq!(from.apply(Step::Cancel, requester()), Ok(S::Cancelled), "{from}");
            assert_eq!(from.apply(Step::Cancel, coordinator()), Ok(S::Cancelled), "{from}");
        }
        assert_eq!(S::Accepted.apply(Step::Cancel, assigned()), Ok(S::Cancelled));
    }

    /// No step skips a state: every (state, step) pair outside the table is refused
    /// for the wrong state, whoever asks.
    #[test]
    fn every_other_state_is_refused() {
        let allowed: &[(S, Step)] = &[
            (S::Requested, Step::Review),
            (S::Requested, Step::Reject),
            (S::Reviewed, Step::Assign),
            (S::Reviewed, Step::OpenToClaim),
            (S::Open, Step::Claim),
            (S::Assigned, Step::Accept),
            (S::Assigned, Step::Decline),
            (S::Accepted, Step::Report),
            (S::Held, Step::Rate),
            (S::Requested, Step::Cancel),
            (S::Reviewed, Step::Cancel),
            (S::Assigned, Step::Cancel),
            (S::Open, Step::Cancel),
            (S::Accepted, Step::Cancel),
        ];
        let everyone = Actor { role: Role::Office, holds_unit: true, is_requester: true, is_assigned: true, may_serve: true };
        for state in S::ALL {
            for step in Step::ALL {
                if allowed.contains(&(state, step)) {
                    continue;
                }
                for role in Role::ALL {
                    let r = state.apply(step, Actor { role, ..everyone });
                    assert_eq!(r, Err(Refusal::WrongState { state, step }), "{state} {step} by {role}");
                }
            }
        }
        assert_eq!(S::Held.apply(Step::Cancel, requester()).unwrap_err().to_string(), "a request that is held cannot be cancelled");
    }

    #[test]
    fn the_wrong_role_is_refused() {
        let cases = [
            (S::Requested, Step::Review, Role::Lecturer),
            (S::Requested, Step::Review, Role::UnitContact),
            (S::Requested, Step::Review, Role::Supervisor),
            (S::Reviewed, Step::Assign, Role::Lecturer),
            (S::Open, Step::Claim, Role::Coordinator),
            (S::Assigned, Step::Accept, Role::Coordinator),
            (S::Accepted, Step::Report, Role::UnitContact),
            (S::Held, Step::Rate, Role::Coordinator),
            (S::Held, Step::Rate, Role::Lecturer),
            (S::Requested, Step::Cancel, Role::Supervisor),
        ];
        for (state, step, role) in cases {
            let everything = Actor { role, holds_unit: true, is_requester: true, is_assigned: true, may_serve: true };
            assert_eq!(state.apply(step, everything), Err(Refusal::WrongRole { role, step }), "{state} {step} by {role}");
        }
    }

    #[test]
    fn the_right_role_out_of_place_is_refused() {
        let outsider = Actor::outsider;
        let cases = [
            (S::Requested, Step::Review, Role::Coordinator),
            (S::Reviewed, Step::Assign, Role::Office),
            (S::Open, Step::Claim, Role::Lecturer),
            (S::Assigned, Step::Accept, Role::Lecturer),
            (S::Assigned, Step::Decline, Role::Lecturer),
            (S::Accepted, Step::Report, Role::Lecturer),
            (S::Held, Step::Rate, Role::UnitContact),
            (S::Requested, Step::Cancel, Role::UnitContact),
            (S::Accepted, Step::Cancel, Role::Lecturer),
            (S::Assigned, Step::Cancel, Role::Coordinator),
        ];
        for (state, step, role) in cases {
            assert_eq!(state.apply(step, outsider(role)), Err(Refusal::NotYours { step }), "{state} {step} by {role}");
        }
        // A lecturer who may serve the unit but was not assigned cannot accept for another.
        assert!(S::Assigned.apply(Step::Accept, eligible()).is_err());
    }

    #[test]
    fn states_and_steps_read_back() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), s);
        }
        for s in Step::ALL {
            assert_eq!(s.as_str().parse::<Step>().unwrap(), s);
        }
        assert!(S::Rated.is_final() && S::Rejected.is_final() && S::Cancelled.is_final() && !S::Held.is_final());
    }
}
