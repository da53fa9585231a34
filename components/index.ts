// The public entry for reuse: components, their Args types, and the pure policy builders.
export * from "./drsCrossAccountKey";
export * from "./stagingRole";
export * from "./replicationTemplate";
export * from "./targetKeyAccess";
export * from "./keyLossAlerts";
export * from "./providers";
export { StagingRoleMode } from "./defaults";
export * as policies from "./policies";
