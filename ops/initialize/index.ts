// initialize: whether DRS is initialised in each account and Region of a stack, and with --apply
// InitializeService where it is not; it runs before the staging stack's first `pulumi up`.
// Nothing is defined here: the types, the reads, the plan, the writes, the report and the command have their own files.
export { applyInitialization, defaultLostAnswerWaitMs, defaultPollMs } from "./apply";
export type { ApplyOptions } from "./apply";
export { PlaceReader } from "./calls";
export { initialize, initializeCommand, initializeHelp } from "./command";
export type { InitializeInput, InitializeOptions } from "./command";
export { placesOf, planInitialization } from "./plan";
export type { PlanOptions } from "./plan";
export { configOnlyNote, exitCodeOf, formatPlan, formatResult, formatStop, nextStep } from "./report";
export type {
    ApplyOutcome,
    InitializePlan,
    Place,
    PlacePlan,
    PlaceResult,
    PlaceStatus,
    Reading,
    RegionlessTarget,
    Side,
    Stop,
} from "./types";
export type { Io } from "../io";
