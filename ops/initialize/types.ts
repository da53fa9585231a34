// What initialize's parts share: the places of a stack (account and Region, and which side),
// what was read there, the plan, each place's result, where a run stopped. A leaf: it imports none
// of initialize's other modules, so calls, plan, apply, report and command can all use these.
/**
 * Which side of the stack a place serves: a staging account's Region, a target's recovery Region,
 * or the origin a staging entry's servers fail back to (its failback setting).
 */
export type Side = "staging" | "target" | "failback origin";

/** One account in one Region where DRS must be initialised. */
export interface Place {
    accountId: string;
    region: string;
    /** Both, when an account is a staging account and a target in the same Region. */
    sides: Side[];
}

/** What DRS answered: DescribeReplicationConfigurationTemplates, or UninitializedAccountException. */
export type DrsState = "answers" | "not-initialised" | "unchecked";

/** Whether the account's service-linked role AWSServiceRoleForElasticDisasterRecovery exists (iam:GetRole). */
export type RoleState = "exists" | "missing" | "unchecked";

/** DRS is initialised in a place once it answers there and the account's service-linked role exists. */
export type PlaceStatus = "initialised" | "not-initialised" | "unchecked";

/** One reading of a place: both checks, and why those that could not run did not. */
export interface Reading {
    drs: DrsState;
    serviceLinkedRole: RoleState;
    status: PlaceStatus;
    /** Why it is not initialised, or why it was not checked, in words. */
    why?: string;
    /** For a refused check: the IAM action the credentials need. */
    permission?: string;
    /** For a check that could not run: what to do before running again. */
    fix?: string;
}

export type PlacePlan = Place & Reading;

/** A target whose Regions neither the config (target.regions, the staging entries) nor the outputs name. */
export interface RegionlessTarget {
    accountId: string;
    why: string;
}

export interface InitializePlan {
    places: PlacePlan[];
    regionless: RegionlessTarget[];
    /** Read from the stack config alone: there were no outputs (no --outputs and no Pulumi CLI, or a stack not yet deployed). */
    configOnly: boolean;
}

export interface PlaceResult {
    accountId: string;
    region: string;
    /** initialised: by this run; skipped: initialised already when re-read before the call. */
    status: "initialised" | "skipped" | "failed";
    message: string;
}

/** Where a run stopped, why, what it did before, and the command that resumes. */
export interface Stop {
    accountId: string;
    region: string;
    reason: "access" | "time-limit" | "interrupted";
    action?: string;
    permission?: string;
    message: string;
    /** Places initialised by this run before it stopped. */
    initialised: number;
    /** Whether InitializeService was sent in the place it stopped at (it is then not sent again by a re-run once DRS answers). */
    sentHere: boolean;
    resume: string;
}

export interface ApplyOutcome {
    results: PlaceResult[];
    stopped?: Stop;
}
