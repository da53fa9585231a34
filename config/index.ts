// The config module's surface: the settings' types, reading and checking them, and the errors.
// Nothing is defined here: each part has its own file (schema, settings helpers, AWS value kinds,
// parsing, the engine adapter, rules, advice, files).
export { ConfigError, UsageError } from "./errors";
export { parseStackConfig, programConfig, readProgramSettings } from "./engine";
export { parseConfig, readPricing } from "./parse";
export type { ParsedConfig } from "./parse";
export { duplicatePlaces, keysOfTarget, policyPlanProblem, targetsOfKey } from "./rules";
export { configNamespace } from "./schema";
export { secretPlaceholder } from "./settings";
export type {
    DeployMode,
    IdentityCenterSettings,
    KeySettings,
    LaunchSettings,
    RawConfig,
    ReplicationSettings,
    Settings,
    StagingEntry,
    TargetSettings,
} from "./schema";
