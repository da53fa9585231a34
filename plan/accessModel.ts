// The access model: who must, and must not, get which request on a DRS key, through which
// service. One table, which the access report evaluates on every key of a plan and the tests on
// the pure builders (docs/aws-requirements.md: the statements DRS documents, sharing a key for EBS
// snapshots, the staging DRS service-linked role).
import { TargetAccess, keyLossActions, viaService } from "../components/policies";

/** Where a request comes from: EC2 in the key's Region, EC2 in another Region, another service, or no service. */
export type Via = "ec2" | "ec2 in another Region" | "rds" | "directly";

/** The principals the model speaks of. */
export type Who =
    "stagingDrsService" | "stagingRole" | "targetKeyUser" | "otherTargetRole" | "stagingNonAdmin" | "stagingAdmin" | "outsider";

export interface Request {
    action: string;
    via: Via;
    grantForAwsResource?: boolean;
    /** Asked on another key of the same account, one the target's policy does not name. */
    otherKey?: boolean;
    expected: "allow" | "deny";
}

const allow = (action: string, via: Via, grantForAwsResource?: boolean): Request => ({
    action,
    via,
    grantForAwsResource,
    expected: "allow",
});
const deny = (action: string, via: Via, grantForAwsResource?: boolean): Request => ({ action, via, grantForAwsResource, expected: "deny" });

/** The requests each kind of principal must, and must not, get through, for a key shared with `targetAccess`. */
export function accessModel(targetAccess: TargetAccess): Record<Who, Request[]> {
    const targetUse =
        targetAccess === "documented"
            ? [
                  allow("kms:ReEncryptFrom", "ec2"),
                  allow("kms:ReEncryptTo", "ec2"),
                  deny("kms:ReEncryptTo", "directly"),
                  deny("kms:Decrypt", "ec2"),
                  deny("kms:GenerateDataKey", "ec2"),
                  deny("kms:CreateGrant", "ec2", true),
              ]
            : [
                  allow("kms:Decrypt", "ec2"),
                  allow("kms:GenerateDataKeyWithoutPlaintext", "ec2"),
                  allow("kms:ReEncryptFrom", "ec2"),
                  allow("kms:CreateGrant", "ec2", true),
                  deny("kms:CreateGrant", "ec2", false),
                  deny("kms:CreateGrant", "directly", true),
                  deny("kms:Decrypt", "rds"),
                  { ...deny("kms:Decrypt", "ec2"), otherKey: true },
              ];
    return {
        // Creates the encrypted staging disks and snapshots.
        stagingDrsService: [
            allow("kms:Decrypt", "ec2"),
            allow("kms:GenerateDataKeyWithoutPlaintext", "ec2"),
            allow("kms:ReEncryptFrom", "ec2"),
            allow("kms:ReEncryptTo", "ec2"),
            allow("kms:CreateGrant", "ec2", true),
            allow("kms:DescribeKey", "directly"),
            deny("kms:CreateGrant", "ec2", false),
            deny("kms:Decrypt", "directly"),
            deny("kms:Decrypt", "ec2 in another Region"),
            deny("kms:ScheduleKeyDeletion", "directly"),
        ],
        // DRSStagingAccountRole_<target>: only what the DRS multi-account page documents.
        stagingRole: [allow("kms:ReEncryptFrom", "ec2"), deny("kms:ReEncryptFrom", "directly"), deny("kms:Decrypt", "ec2")],
        targetKeyUser: [
            ...targetUse,
            allow("kms:DescribeKey", "directly"),
            deny("kms:Decrypt", "directly"),
            deny("kms:ReEncryptFrom", "ec2 in another Region"),
            deny("kms:Encrypt", "ec2"),
            ...keyLossActions.map((action) => deny(action, "directly")),
        ],
        // Cross-account use needs the IAM policy too: other target roles get nothing.
        otherTargetRole: [deny("kms:ReEncryptFrom", "ec2"), deny("kms:Decrypt", "ec2"), deny("kms:DescribeKey", "directly")],
        stagingNonAdmin: [deny("kms:Decrypt", "ec2"), ...keyLossActions.map((action) => deny(action, "directly"))],
        // The key stays manageable: its account's administrators (IAM kms:*) keep control.
        stagingAdmin: [allow("kms:PutKeyPolicy", "directly"), allow("kms:ScheduleKeyDeletion", "directly")],
        outsider: [
            deny("kms:ReEncryptFrom", "ec2"),
            deny("kms:Decrypt", "ec2"),
            deny("kms:DescribeKey", "directly"),
            deny("kms:CreateGrant", "ec2", true),
        ],
    };
}

/** The request context KMS would see: the caller's account, and the service and Region it came through. */
export function requestContext(request: Request, callerAccount: string, keyRegion: string, otherRegion: string): Record<string, string> {
    const context: Record<string, string> = { "kms:CallerAccount": callerAccount };
    if (request.via === "ec2") context["kms:ViaService"] = viaService("ec2", keyRegion);
    if (request.via === "ec2 in another Region") context["kms:ViaService"] = viaService("ec2", otherRegion);
    if (request.via === "rds") context["kms:ViaService"] = viaService("rds", keyRegion);
    if (request.grantForAwsResource !== undefined) context["kms:GrantIsForAWSResource"] = String(request.grantForAwsResource);
    return context;
}

/** A key of the same account and Region that no policy of the target names. */
export const otherKeyOf = (keyArn: string) => keyArn.replace(/key\/[^/]+$/, "key/00000000-0000-0000-0000-00000000beef");
