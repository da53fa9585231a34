// align-servers: brings each source server replicating into a staging account onto that entry's
// staging key; servers replicated before the key existed stay on DEFAULT (aws/ebs) or another key.
// Nothing is defined here: the types, the plan, the moves, the report and the command have their own files.
export { applyAlignment, defaultBatchPollMs } from "./apply";
export type { ApplyOptions } from "./apply";
export { alignServers, alignServersCommand, alignServersHelp } from "./command";
export type { AlignOptions } from "./command";
export { planAlignment } from "./plan";
export type { PlanOptions } from "./plan";
export { caveat, exitCodeOf, formatPlan, formatResult, resyncCaveat } from "./report";
export { CannotAlign } from "./types";
export type { AlignmentPlan, ApplyOutcome, KeyPlan, MoveResult, OldKey, ServerMove, Stop } from "./types";
export type { Io } from "../io";
