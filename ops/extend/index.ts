// extend: extends the staging accounts' replicating servers into the target, so it can recover them.
// Nothing is defined here: the types, the reads, the plan, the creates, the report and the command have their own files.
export { applyExtension, defaultBatch, defaultBatchWaitMs, defaultPollMs } from "./apply";
export type { ApplyOptions } from "./apply";
export { extendedFrom, listExtensible, serverIdOfArn } from "./calls";
export { extend, extendCommand, extendHelp, extendTags, extendedByTag, serverIdsOf } from "./command";
export type { ExtendCommandOptions, ExtendInput, ExtendOptions } from "./command";
export { planExtension } from "./plan";
export type { PlanOptions } from "./plan";
export { defaultKeyAdvice, exitCodeOf, formatPlan, formatResult, refusalAdvice, summaryOf } from "./report";
export { CannotExtend } from "./types";
export type {
    AlreadyExtended,
    ApplyOutcome,
    ExtendPlan,
    ExtendResult,
    ExtendStatus,
    KeyPlan,
    LeftOut,
    NotExtendable,
    NotExtendedReason,
    ServerToExtend,
    StagingServer,
    Stop,
} from "./types";
export type { Io } from "../io";
