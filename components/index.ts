// The package's main entry: components, their Args types, and the pure policy builders. It never
// loads @pulumi/aws-native: the launch settings, which need it, are the `drs-cross-account-kms/launch` subpath.
export * from "./drsCrossAccountKey";
export * from "./stagingRole";
export * from "./replicationTemplate";
export * from "./targetKeyAccess";
export * from "./keyLossAlerts";
export * from "./permissionSetKeyAccess";
export * from "./providers";
export { StagingRoleMode } from "./defaults";
export * as policies from "./policies";
