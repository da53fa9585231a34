// align-launch: brings the launch configuration of servers extended into the target in line with
// the stack's launch settings. Nothing is defined here: the parts have their own files.
export { applyLaunch, updateRequest } from "./apply";
export { alignLaunch, alignLaunchCommand, alignLaunchHelp } from "./command";
export type { AlignLaunchOptions } from "./command";
export { differences, planLaunch, wantedOf } from "./plan";
export { exitCodeOf, formatPlan, formatResult, untouched } from "./report";
export { CannotAlignLaunch, launchFields } from "./types";
export type { ApplyOutcome, FieldChange, LaunchPlan, RegionPlan, ServerPlan, Stop, UpdateResult } from "./types";
