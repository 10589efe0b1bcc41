//! A unit's order for a lecture and its life: requested → reviewed (or rejected) →
//! assigned to a lecturer (or opened to the lecture groups, to be claimed) → accepted
//! (or declined, back to the coordinator) → held (the lecturer's report) → rated by
//! the unit; cancelled by either side before it is held.
//!
//! The rules are here, free of I/O: [`RequestState::apply`] takes the step asked for,
//! who asks (their party: who may take which step is the permission table's) and how
//! they stand to this request (which the store works out), and gives the next state
//! or the reason for refusing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::access::{Action, Party, Reach};
use crate::Error;

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

    /// Whether `step` may be taken from this state (by whoever may take it).
    pub fn starts(self, step: Step) -> bool {
        RequestState::transition(step).0.contains(&self)
    }

    /// The states a step may be taken from, and where it leads.
    fn transition(step: Step) -> (&'static [RequestState], RequestState) {
        use RequestState as S;
        match step {
            Step::Review => (&[S::Requested], S::Reviewed),
            Step::Reject => (&[S::Requested], S::Rejected),
            Step::Assign => (&[S::Reviewed], S::Assigned),
            Step::OpenToClaim => (&[S::Reviewed], S::Open),
            Step::Claim => (&[S::Open], S::Accepted),
            Step::Accept => (&[S::Assigned], S::Accepted),
            Step::Decline => (&[S::Assigned], S::Reviewed),
            Step::Report => (&[S::Accepted], S::Held),
            Step::Rate => (&[S::Held], S::Rated),
            Step::Cancel => (&[S::Requested, S::Reviewed, S::Assigned, S::Open, S::Accepted], S::Cancelled),
        }
    }

    /// The state after `step` taken by `party`, standing to this request as
    /// `standing` says, or why it may not be taken. Who may take which step is the
    /// permission table's ([`Action::step`]): a party reaching the step's action
    /// in its scope must hold the request's unit; one reaching only its own
    /// requests must be the assigned lecturer (or, to claim, an eligible one).
    pub fn apply(self, step: Step, party: Party, standing: Standing) -> Result<RequestState, Refusal> {
        let (from, to) = RequestState::transition(step);
        if !from.contains(&self) {
            return Err(Refusal::WrongState { state: self, step });
        }
        let in_place = match Action::step(step).reach(party) {
            Reach::No | Reach::Public => return Err(Refusal::WrongRole { party, step }),
            Reach::Scope => standing.in_scope,
            Reach::Own if step == Step::Claim => standing.may_serve,
            Reach::Own => standing.is_assigned,
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

/// How the account taking a step stands to this request, as the store finds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// The request's unit lies in the account's scope.
    pub in_scope: bool,
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
    /// The party does not take this step.
    #[error("a {party} cannot {step} a request")]
    WrongRole {
        /// Who asked.
        party: Party,
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
    use crate::Role;
    use RequestState as S;

    fn role(r: Role) -> Party {
        Party::Role(r)
    }
    const IN_SCOPE: Standing = Standing { in_scope: true, is_assigned: false, may_serve: false };
    const ASSIGNED: Standing = Standing { in_scope: false, is_assigned: true, may_serve: false };
    const ELIGIBLE: Standing = Standing { in_scope: false, is_assigned: false, may_serve: true };
    const EVERYTHING: Standing = Standing { in_scope: true, is_assigned: true, may_serve: true };
    const NOWHERE: Standing = Standing { in_scope: false, is_assigned: false, may_serve: false };

    /// Every allowed transition, by the right party standing in the right place.
    #[test]
    fn every_allowed_step() {
        let (coordinator, office, lecturer, contact) = (role(Role::Coordinator), role(Role::Office), role(Role::Lecturer), role(Role::UnitContact));
        let cases = [
            (S::Requested, Step::Review, coordinator, IN_SCOPE, S::Reviewed),
            (S::Requested, Step::Review, office, IN_SCOPE, S::Reviewed),
            (S::Requested, Step::Reject, coordinator, IN_SCOPE, S::Rejected),
            (S::Reviewed, Step::Assign, coordinator, IN_SCOPE, S::Assigned),
            (S::Reviewed, Step::OpenToClaim, coordinator, IN_SCOPE, S::Open),
            (S::Open, Step::Claim, lecturer, ELIGIBLE, S::Accepted),
            (S::Assigned, Step::Accept, lecturer, ASSIGNED, S::Accepted),
            (S::Assigned, Step::Decline, lecturer, ASSIGNED, S::Reviewed),
            (S::Accepted, Step::Report, lecturer, ASSIGNED, S::Held),
            (S::Held, Step::Rate, contact, IN_SCOPE, S::Rated),
        ];
        for (from, step, party, standing, to) in cases {
            assert_eq!(from.apply(step, party, standing), Ok(to), "{from} {step}");
        }
        for from in [S::Requested, S::Reviewed, S::Assigned, S::Open, S::Accepted] {
            assert_eq!(from.apply(Step::Cancel, contact, IN_SCOPE), Ok(S::Cancelled), "{from}");
            assert_eq!(from.apply(Step::Cancel, coordinator, IN_SCOPE), Ok(S::Cancelled), "{from}");
        }
        assert_eq!(S::Accepted.apply(Step::Cancel, lecturer, ASSIGNED), Ok(S::Cancelled));
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
        for state in S::ALL {
            for step in Step::ALL {
                if allowed.contains(&(state, step)) {
                    continue;
                }
                for party in Party::ALL {
                    let r = state.apply(step, party, EVERYTHING);
                    assert_eq!(r, Err(Refusal::WrongState { state, step }), "{state} {step} by {party}");
                }
            }
        }
        assert_eq!(S::Held.apply(Step::Cancel, role(Role::UnitContact), IN_SCOPE).unwrap_err().to_string(), "a request that is held cannot be cancelled");
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
        for (state, step, r) in cases {
            assert_eq!(state.apply(step, role(r), EVERYTHING), Err(Refusal::WrongRole { party: role(r), step }), "{state} {step} by {r}");
        }
        assert_eq!(S::Requested.apply(Step::Review, Party::Public, EVERYTHING).unwrap_err().to_string(), "a visitor cannot review a request");
    }

    #[test]
    fn the_right_role_out_of_place_is_refused() {
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
        for (state, step, r) in cases {
            assert_eq!(state.apply(step, role(r), NOWHERE), Err(Refusal::NotYours { step }), "{state} {step} by {r}");
        }
        // A lecturer who may serve the unit but was not assigned cannot accept for another.
        assert!(S::Assigned.apply(Step::Accept, role(Role::Lecturer), ELIGIBLE).is_err());
        // Holding the unit's scope is not being its assigned lecturer.
        assert!(S::Accepted.apply(Step::Report, role(Role::Lecturer), IN_SCOPE).is_err());
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
