// What align-launch's parts share: the fields it compares, the plan, each update's result, where a
// run stopped, and the error that ends the command before it starts. A leaf: it imports none of
// align-launch's other modules.
import type { LaunchConfiguration } from "@aws-sdk/client-drs";
import { UsageError } from "../../config/errors";
import type { LaunchSettings } from "../../config";

/**
 * The launch settings a server has a field of its own for, each as the stack's setting names it
 * and as the server's launch configuration holds it. launchIntoSourceInstance and exportBucketArn
 * are the template's only (docs/aws-requirements.md, "Per-server launch settings").
 */
export const launchFields = {
    copyPrivateIp: (c: LaunchConfiguration) => c.copyPrivateIp,
    copyTags: (c: LaunchConfiguration) => c.copyTags,
    launchDisposition: (c: LaunchConfiguration) => c.launchDisposition,
    osByol: (c: LaunchConfiguration) => c.licensing?.osByol,
    targetInstanceTypeRightSizingMethod: (c: LaunchConfiguration) => c.targetInstanceTypeRightSizingMethod,
    postLaunchEnabled: (c: LaunchConfiguration) => c.postLaunchEnabled,
} as const;

export type LaunchField = keyof typeof launchFields;
export type LaunchValue = string | boolean;

/** One field of a server that differs from the stack's setting. */
export interface FieldChange {
    field: LaunchField;
    now?: LaunchValue;
    wanted: LaunchValue;
}

export interface ServerPlan {
    sourceServerID: string;
    hostname?: string;
    region: string;
    changes: FieldChange[];
}

export interface RegionPlan {
    region: string;
    /** The fields the stack sets in this Region (target.launch), with their values. */
    wanted: Partial<Record<LaunchField, LaunchValue>>;
    /** Servers extended into the target in this Region. */
    extended: number;
    /** With --server: how many of those were named. */
    selected?: number;
    aligned: number;
    toChange: ServerPlan[];
    /** Servers whose launch configuration could not be read (other than for lack of permission). */
    unreadable: { sourceServerID: string; hostname?: string; error: string }[];
}

export interface LaunchPlan {
    targetAccountId: string;
    regions: RegionPlan[];
    /** --server IDs extended into none of the Regions. */
    unknownServers: string[];
}

export interface UpdateResult {
    sourceServerID: string;
    hostname?: string;
    region: string;
    status: "changed" | "skipped" | "failed";
    /** What changed, or for failed, why. */
    message: string;
}

/** Where a run stopped, why, how much was done before it, and the command that resumes. */
export interface Stop {
    region: string;
    at: string;
    reason: "access" | "time-limit";
    permission?: string;
    message: string;
    changed: number;
    resume: string;
}

export interface ApplyOutcome {
    results: UpdateResult[];
    stopped?: Stop;
}

/** The stack's launch settings per Region, as the plan reads them. */
export type LaunchEntries = LaunchSettings[];

/** The command cannot start (arguments, outputs, config, an access error while planning): exit 2. */
export class CannotAlignLaunch extends UsageError {}
