// The failback drill's shapes (drill --failback): each drill instance reversed, the way back's
// readiness, the clean-up. A leaf: the drill's types and the failback drill's parts read these.
import type { WayBack } from "../../components/policies";
import type { Origin } from "../verify/checks/failback";
import type { CheckResult } from "../verify/types";

/** Where a reversed server stands: replicating (its staging disks exist), or why not. */
export type FailbackStatus = "replicating" | "failed" | "timed out" | "interrupted" | "not started";

export interface FailbackServer {
    recoveryInstanceID: string;
    /** The job's Region: the target Region the drill instance runs in. */
    region: string;
    /** The extended source server the drill instance was launched from. */
    sourceServerID?: string;
    hostname?: string;
    /** Where DRS fails it back to (the extended server's origin). */
    origin?: Origin;
    /** The stack's failback setting for its key. */
    wayBack?: WayBack;
    /** The volumes' bytes: what reverse replication copies again. */
    bytes: number;
    /** The key the new source server's staging disks should use: the origin template's, or this stack's there. */
    expectedKeyArn?: string;
    /** The new source server at the origin (ReverseReplication's answer, or found by its recoveryInstanceId). */
    reversedServerID?: string;
    status?: FailbackStatus;
    message?: string;
    onKey?: "yes" | "no" | "not checked";
    encryption?: string;
    /** Why this instance cannot be failed back in a drill: the start is refused. */
    problem?: string;
}

export interface FailbackCleanup {
    /** New source servers disconnected and deleted. */
    removed: string[];
    /** Left replicating on purpose (--keep). */
    kept: string[];
    left: { sourceServerID: string; origin: string; error: string }[];
}

export interface FailbackReport {
    servers: FailbackServer[];
    /** The way back's readiness per origin: verify's failback checks. */
    readiness: CheckResult[];
    cost: string;
    cleanup?: FailbackCleanup;
    notes: string[];
}

/** Bytes in GiB, one decimal. */
export const gib = (bytes: number) => `${Math.round((bytes / 2 ** 30) * 10) / 10} GiB`;
