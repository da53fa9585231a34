// drill: the proof that the target account can recover the staging accounts' servers with their
// keys (docs/drill.md). Nothing is defined here: the shapes, the run and its phases, the jobs, the
// diagnosis, the report and the command have their own files; this is what the CLI and tests import.
export { CannotDrill, drillCommand, drillOptionsOf } from "./command";
export type { DrillCommandOptions } from "./command";
export { drillRequest, drillTag, runTagKey } from "./job";
export { stagingServerIdOf } from "./plan";
export { drillCost, drillHelp, formatReport } from "./report";
export { drill } from "./run";
export { defaultCount, defaultPollMs, defaultTimeoutMinutes } from "./types";
export type {
    CleanupReport,
    DrillDeps,
    DrillInput,
    DrillOptions,
    DrillReport,
    IdentityReport,
    JobReport,
    LaunchSummary,
    Mode,
    OnKey,
    PlannedServer,
    ServerResult,
    ServerStatus,
} from "./types";
