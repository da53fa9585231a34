// What the component plugin offers to other Pulumi languages (see provider.ts).
import { DrsCrossAccountKey } from "./drsCrossAccountKey";
import { DrsKeyLossAlerts } from "./keyLossAlerts";
import { DrsLaunchSettings } from "./launchSettings";
import { DrsReplicationTemplate } from "./replicationTemplate";
import { DrsStagingRole } from "./stagingRole";
import { DrsTargetKeyAccess } from "./targetKeyAccess";

/** The package name other languages see: resource types are `drs-cross-account-kms:index:<Component>`. */
export const pluginName = "drs-cross-account-kms";

export const pluginComponents = [
    DrsCrossAccountKey,
    DrsStagingRole,
    DrsReplicationTemplate,
    DrsKeyLossAlerts,
    DrsTargetKeyAccess,
    DrsLaunchSettings,
];
