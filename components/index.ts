// The public entry for reuse: components, their Args types, and the pure policy builders.
export * from "./drsCrossAccountKey";
export * from "./stagingRole";
export * from "./replicationTemplate";
export * from "./targetKeyAccess";
export * from "./keyLossAlerts";
export * from "./launchSettings";
export * from "./permissionSetKeyAccess";
export * from "./nativeProvider";
export * from "./providers";
export { LaunchDisposition, RightSizingMethod, StagingRoleMode } from "./defaults";
export * as policies from "./policies";
