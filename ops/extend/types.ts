// What extend's parts share: the plan per staging key, each server's result, where a run stopped,
// and the error that ends the command before it starts. A leaf: it imports none of extend's other
// modules, so plan, apply, report and command can all use these without an import circle.
import { UsageError } from "../../config/errors";

/** A staging server as DRS names it: its ID and ARN in the staging account, and its hostname. */
export interface StagingServer {
    sourceServerID: string;
    arn: string;
    hostname?: string;
}

/** A server the plan would extend into the target. */
export interface ServerToExtend extends StagingServer {
    /** dataReplicationInfo.dataReplicationState in the staging account. */
    replicationState?: string;
    /** Its EBS encryption there (GetReplicationConfiguration), in words. */
    encryption?: string;
    /** The account an EC2 source runs in (sourceCloudProperties.originAccountID), for the Marketplace roles. */
    originAccountId?: string;
    /** Why it was not checked in the staging account: DRS then judges it alone. */
    notChecked?: string;
    /** What may surprise after it is extended (a key other than the entry's). */
    warning?: string;
}

/**
 * Why a server is not extended: on the default EBS key (DRS refuses it), not replicating (a poor
 * extension), extended already with an error, or replicating in the staging account but not in
 * DRS's list of extensible servers.
 */
export type NotExtendedReason = "default-key" | "not-replicating" | "extension-error" | "not-listed";

export interface NotExtendable extends StagingServer {
    reason: NotExtendedReason;
    /** What is wrong and what to do, in words. */
    message: string;
    /** For an extension error: the extended server in the target. */
    extendedServerID?: string;
}

/** A server extended into the target already (or being extended: NOT_EXTENDED just after its creation). */
export interface AlreadyExtended extends StagingServer {
    extendedServerID: string;
    status: string;
}

/** A server target.unprotectedServers leaves out on purpose. */
export interface LeftOut extends StagingServer {
    reason: string;
}

export interface KeyPlan {
    /** The staging account and Region (the key's entry): DRS extends a server within its Region. */
    stagingAccountId: string;
    region: string;
    targetAccountId: string;
    /** How many servers DRS lists as extensible from this staging account into the target. */
    extensible: number;
    /** With --server: how many of this entry's servers were named. */
    selected?: number;
    alreadyExtended: AlreadyExtended[];
    toExtend: ServerToExtend[];
    cannotExtend: NotExtendable[];
    leftOut: LeftOut[];
    /** The staging account could not be read: why. The plan then comes from the target side alone. */
    stagingUnread?: string;
    /** The target side could not be read for this entry (other than for lack of permission): why. Nothing is extended from it. */
    targetUnread?: string;
}

export interface ExtendPlan {
    targetAccountId: string;
    /** The tags every extended server is created with. */
    tags: Record<string, string>;
    keys: KeyPlan[];
    /** --server IDs that are in none of the staging accounts' lists. */
    unknownServers: string[];
}

/**
 * extended: DRS created it and it left NOT_EXTENDED as EXTENDED; created: DRS created it, and the
 * run did not see it leave NOT_EXTENDED (the batch's wait ran out, or the run stopped first);
 * extension-error: created, then EXTENSION_ERROR; skipped: extended already when re-read;
 * failed: DRS refused it, or its answer was lost and a re-read found nothing.
 */
export type ExtendStatus = "extended" | "created" | "extension-error" | "skipped" | "failed";

export interface ExtendResult extends StagingServer {
    stagingAccountId: string;
    region: string;
    status: ExtendStatus;
    /** The extended server in the target, once DRS created it. */
    extendedServerID?: string;
    /** What happened, in words; for failed and extension-error, DRS's message. */
    message: string;
}

/** Where a run stopped, why, what was done before it, and the command that resumes. */
export interface Stop {
    /** The account whose call stopped it (the target for a create, a read). */
    accountId: string;
    stagingAccountId: string;
    region: string;
    /** The server it stopped at, or the servers of the batch it was reading. */
    at: string;
    reason: "access" | "throttled" | "time-limit" | "interrupted";
    action?: string;
    permission?: string;
    message: string;
    /** Servers this run had DRS create before it stopped (extended or created). */
    extended: number;
    /** Those servers: the staging ID, then the extended server's ID in the target. */
    extendedServers: { sourceServerID: string; extendedServerID?: string }[];
    /** Servers of the plan not yet attempted. */
    left: number;
    resume: string;
}

export interface ApplyOutcome {
    results: ExtendResult[];
    stopped?: Stop;
}

/** The command cannot start (arguments, outputs, config, an access error while planning): exit 2. */
export class CannotExtend extends UsageError {}
