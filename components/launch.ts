// `drs-cross-account-kms/launch`: the target's DRS launch settings, on @pulumi/aws-native (an
// optional peer of the package: needed only by programs that import this subpath).
export * from "./launchSettings";
export * from "./nativeProvider";
export { LaunchDisposition, RightSizingMethod } from "./defaults";
