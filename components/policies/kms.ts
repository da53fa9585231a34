// KMS action groups and resource types, named once for the builders, the policy pack, the access
// report and the mocks.
import { keyLossEvents } from "./alerts";

/** Actions that administer a key rather than use it. */
export const kmsAdminActions = [
    "kms:*",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:UpdateKeyDescription",
    "kms:UpdateAlias",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:ReplicateKey",
    "kms:UpdatePrimaryRegion",
    "kms:RotateKeyOnDemand",
];

/**
 * The administrative actions that can lose a key's data or lock its users out, which the alerts
 * watch: nobody but the key's administrators may call them. RetireGrant is not among them: a
 * grant, not a policy, says who may retire it.
 */
export const keyLossActions = [...keyLossEvents, "RevokeGrant"].map((event) => `kms:${event}`);

/** KMS actions that only exist on "*" (no key to name). */
export const accountLevelKmsActions = ["kms:CreateKey", "kms:ListKeys", "kms:ListAliases", "kms:GenerateRandom", "kms:ListRetirableGrants"];

/** Pulumi resource types that carry a key policy of their own in `policy`: a key, a multi-Region replica. */
export const kmsKeyTypes = ["aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"] as const;
