// What align-servers' parts share: the plan, a move's result, where a run stopped, and the error
// that ends the command before it starts. A leaf: it imports none of align-servers' other modules,
// so plan, apply, report and command can all use these without an import circle.
import { UsageError } from "../../config/errors";

/** A server the plan would move onto its entry's key. */
export interface ServerMove {
    sourceServerID: string;
    hostname?: string;
    /** Its current encryption, as GetReplicationConfiguration reported it. */
    ebsEncryption?: string;
    ebsEncryptionKeyArn?: string;
    newKeyArn: string;
}

/** An old customer managed key servers are on, and whether the target can still use its points in time. */
export interface OldKey {
    keyArn: string;
    /** Servers to move off it. */
    servers: number;
    /** Per target: the key policy statement that lets it use the key, or undefined when none does. */
    targets: { accountId: string; statement?: string }[];
    /** The policy could not be read: why. */
    notChecked?: string;
    note: string;
}

export interface KeyPlan {
    accountId: string;
    region: string;
    keyArn: string;
    /** DescribeKey's KeyState, or NotFound. */
    keyState: string;
    /** Why no server is moved onto this key (it is not Enabled). */
    refused?: string;
    /** Servers replicating into this account's staging area (servers extended from elsewhere excluded). */
    replicating: number;
    /** With --server: how many of those were named. */
    selected?: number;
    alreadyOnKey: number;
    toMove: ServerMove[];
    /** Replicating unencrypted (ebsEncryption NONE), and not moved: recoverable in the target without a key. */
    unencrypted: ServerMove[];
    /** With --batch: on the key, but their newest point in time is not on it yet (a move still resyncing). */
    resyncing: { sourceServerID: string; hostname?: string; why: string }[];
    /** Servers whose configuration could not be read (other than for lack of permission). */
    unreadable: { sourceServerID: string; hostname?: string; error: string }[];
    oldKeys: OldKey[];
}

export interface AlignmentPlan {
    keys: KeyPlan[];
    /** --server IDs that replicate into none of the staging areas. */
    unknownServers: string[];
}

export interface MoveResult {
    sourceServerID: string;
    hostname?: string;
    accountId: string;
    region: string;
    newKeyArn: string;
    status: "moved" | "skipped" | "failed";
    /** What it was on before the move, in words; for failed, the service's message. */
    message: string;
}

/** Where a run stopped, why, how much was done before it, and the command that resumes. */
export interface Stop {
    accountId: string;
    region: string;
    /** The server it stopped at, or the servers of the batch it was waiting for. */
    at: string;
    reason: "access" | "time-limit" | "interrupted";
    action?: string;
    permission?: string;
    message: string;
    moved: number;
    resume: string;
}

export interface ApplyOutcome {
    results: MoveResult[];
    /** With --batch: the servers confirmed back on continuous replication with a point in time on the key. */
    resynced?: string[];
    stopped?: Stop;
}

/** The command cannot start (arguments, outputs, config, an access error while planning): exit 2. */
export class CannotAlign extends UsageError {}
