import { expect } from "chai";
import { PolicyDocument, TargetAccess, buildKeyPolicy, buildStagingRoleTrustPolicy, buildTargetKeyUsePolicy } from "../components/policies";
import { decide } from "../tools/simulate";

// Who can do what on a key, with the key policy and the target's IAM policy evaluated together.
const staging = "444455556666";
const target = "111122223333";
const outsider = "999988887777";
const region = "us-east-1";
const keyArn = `arn:aws:kms:${region}:${staging}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const otherKeyArn = `arn:aws:kms:${region}:${staging}:key/9999abcd-12ab-34cd-56ef-1234567890ab`;
const stagingRoleArn = `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`;
const principals = {
    targetOperator: `arn:aws:iam::${target}:role/DrsRecoveryOperator`,
    targetOther: `arn:aws:iam::${target}:role/SomeOtherRole`,
    stagingDrsService: `arn:aws:iam::${staging}:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery`,
    stagingRole: stagingRoleArn,
    stagingAdmin: `arn:aws:iam::${staging}:role/KeyAdministrator`,
    stagingOther: `arn:aws:iam::${staging}:role/AppServer`,
    outsider: `arn:aws:iam::${outsider}:role/Anyone`,
};
const everything: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "kms:*", Resource: "*" }] };

type Via = "ec2" | "ec2-other-region" | "rds" | "direct";

interface Case {
    who: keyof typeof principals;
    action: string;
    via: Via;
    grantForAwsResource?: boolean;
    resource?: string;
    expected: "Allowed" | "Denied";
}

function policiesFor(targetAccess: TargetAccess) {
    const keyPolicy = buildKeyPolicy({ stagingAccountId: staging, targetAccountId: target, region, stagingRoleArn, targetAccess });
    const targetPolicy = buildTargetKeyUsePolicy({ keyArns: [keyArn], targetAccess });
    const identity: Partial<Record<keyof typeof principals, PolicyDocument[]>> = {
        targetOperator: [targetPolicy],
        stagingAdmin: [everything],
        outsider: [everything],
    };
    return { keyPolicy, identity };
}

async function evaluate(targetAccess: TargetAccess, c: Case): Promise<string> {
    const { keyPolicy, identity } = policiesFor(targetAccess);
    const principal = principals[c.who];
    const context: Record<string, string> = { "kms:CallerAccount": principal.split(":")[4] };
    if (c.via === "ec2") context["kms:ViaService"] = `ec2.${region}.amazonaws.com`;
    if (c.via === "ec2-other-region") context["kms:ViaService"] = "ec2.us-west-2.amazonaws.com";
    if (c.via === "rds") context["kms:ViaService"] = `rds.${region}.amazonaws.com`;
    if (c.grantForAwsResource !== undefined) context["kms:GrantIsForAWSResource"] = String(c.grantForAwsResource);
    const decision = await decide({
        principal,
        action: c.action,
        resource: c.resource ?? keyArn,
        resourceAccount: staging,
        context,
        identityPolicies: identity[c.who],
        resourcePolicy: keyPolicy,
    });
    return decision === "Allowed" ? "Allowed" : "Denied";
}

function matrix(targetAccess: TargetAccess, cases: Case[]) {
    describe(`access with targetAccess ${targetAccess}`, () => {
        for (const c of cases) {
            const grant = c.grantForAwsResource === undefined ? "" : ` (GrantIsForAWSResource=${c.grantForAwsResource})`;
            const on = c.resource ? " on a key not in the policy" : "";
            it(`${c.expected === "Allowed" ? "allows" : "denies"} ${c.who} ${c.action} ${c.via}${grant}${on}`, async () => {
                expect(await evaluate(targetAccess, c)).to.equal(c.expected);
            });
        }
    });
}

matrix("ebs-shared-snapshots", [
    // The target's recovery roles: everything the EBS snapshot-sharing page lists, through EC2 only.
    { who: "targetOperator", action: "kms:Decrypt", via: "ec2", expected: "Allowed" },
    { who: "targetOperator", action: "kms:GenerateDataKeyWithoutPlaintext", via: "ec2", expected: "Allowed" },
    { who: "targetOperator", action: "kms:ReEncryptFrom", via: "ec2", expected: "Allowed" },
    { who: "targetOperator", action: "kms:CreateGrant", via: "ec2", grantForAwsResource: true, expected: "Allowed" },
    { who: "targetOperator", action: "kms:DescribeKey", via: "direct", expected: "Allowed" },
    { who: "targetOperator", action: "kms:Decrypt", via: "direct", expected: "Denied" },
    { who: "targetOperator", action: "kms:Decrypt", via: "ec2-other-region", expected: "Denied" },
    { who: "targetOperator", action: "kms:Decrypt", via: "rds", expected: "Denied" },
    { who: "targetOperator", action: "kms:Decrypt", via: "ec2", resource: otherKeyArn, expected: "Denied" },
    { who: "targetOperator", action: "kms:CreateGrant", via: "ec2", grantForAwsResource: false, expected: "Denied" },
    { who: "targetOperator", action: "kms:CreateGrant", via: "direct", grantForAwsResource: true, expected: "Denied" },
    { who: "targetOperator", action: "kms:Encrypt", via: "ec2", expected: "Denied" },
    { who: "targetOperator", action: "kms:ScheduleKeyDeletion", via: "direct", expected: "Denied" },
    { who: "targetOperator", action: "kms:PutKeyPolicy", via: "direct", expected: "Denied" },
    { who: "targetOperator", action: "kms:DisableKey", via: "direct", expected: "Denied" },
    // Cross-account use needs the IAM policy too: other target roles get nothing.
    { who: "targetOther", action: "kms:Decrypt", via: "ec2", expected: "Denied" },
    { who: "targetOther", action: "kms:DescribeKey", via: "direct", expected: "Denied" },
    // The staging account's DRS service-linked role builds the encrypted staging disks.
    { who: "stagingDrsService", action: "kms:Decrypt", via: "ec2", expected: "Allowed" },
    { who: "stagingDrsService", action: "kms:GenerateDataKeyWithoutPlaintext", via: "ec2", expected: "Allowed" },
    { who: "stagingDrsService", action: "kms:ReEncryptTo", via: "ec2", expected: "Allowed" },
    { who: "stagingDrsService", action: "kms:CreateGrant", via: "ec2", grantForAwsResource: true, expected: "Allowed" },
    { who: "stagingDrsService", action: "kms:DescribeKey", via: "direct", expected: "Allowed" },
    { who: "stagingDrsService", action: "kms:CreateGrant", via: "ec2", grantForAwsResource: false, expected: "Denied" },
    { who: "stagingDrsService", action: "kms:Decrypt", via: "direct", expected: "Denied" },
    { who: "stagingDrsService", action: "kms:Decrypt", via: "ec2-other-region", expected: "Denied" },
    { who: "stagingDrsService", action: "kms:ScheduleKeyDeletion", via: "direct", expected: "Denied" },
    // DRSStagingAccountRole_<target>: only what the DRS multi-account page documents.
    { who: "stagingRole", action: "kms:ReEncryptFrom", via: "ec2", expected: "Allowed" },
    { who: "stagingRole", action: "kms:ReEncryptFrom", via: "direct", expected: "Denied" },
    { who: "stagingRole", action: "kms:Decrypt", via: "ec2", expected: "Denied" },
    // Administration stays with the staging account's IAM; nobody else, whatever their own policies say.
    { who: "stagingAdmin", action: "kms:ScheduleKeyDeletion", via: "direct", expected: "Allowed" },
    { who: "stagingOther", action: "kms:ScheduleKeyDeletion", via: "direct", expected: "Denied" },
    { who: "stagingOther", action: "kms:Decrypt", via: "ec2", expected: "Denied" },
    { who: "outsider", action: "kms:Decrypt", via: "ec2", expected: "Denied" },
    { who: "outsider", action: "kms:DescribeKey", via: "direct", expected: "Denied" },
    { who: "outsider", action: "kms:CreateGrant", via: "ec2", grantForAwsResource: true, expected: "Denied" },
]);

matrix("documented", [
    { who: "targetOperator", action: "kms:ReEncryptTo", via: "ec2", expected: "Allowed" },
    { who: "targetOperator", action: "kms:DescribeKey", via: "direct", expected: "Allowed" },
    { who: "targetOperator", action: "kms:ReEncryptTo", via: "direct", expected: "Denied" },
    { who: "targetOperator", action: "kms:Decrypt", via: "ec2", expected: "Denied" },
    { who: "targetOperator", action: "kms:GenerateDataKey", via: "ec2", expected: "Denied" },
    { who: "targetOperator", action: "kms:CreateGrant", via: "ec2", grantForAwsResource: true, expected: "Denied" },
    { who: "stagingDrsService", action: "kms:GenerateDataKeyWithoutPlaintext", via: "ec2", expected: "Allowed" },
    { who: "stagingRole", action: "kms:ReEncryptFrom", via: "ec2", expected: "Allowed" },
]);

describe("staging role trust", () => {
    const trust = buildStagingRoleTrustPolicy("aws", target);
    const assume = (action: string, context: Record<string, string>) =>
        decide({
            principal: "drs.amazonaws.com",
            action,
            resource: stagingRoleArn,
            resourceAccount: staging,
            context,
            resourcePolicy: trust,
        });
    const fromTarget = {
        "sts:SourceIdentity": target,
        "aws:SourceAccount": target,
        "aws:SourceArn": `arn:aws:drs:${region}:${target}:source-server/s-1234567890abcdef0`,
    };

    it("allows DRS to assume the role and set the source identity for the target account", async () => {
        expect(await assume("sts:AssumeRole", fromTarget)).to.equal("Allowed");
        expect(await assume("sts:SetSourceIdentity", fromTarget)).to.equal("Allowed");
    });

    it("denies DRS acting for another account, or for a resource that is not a source server", async () => {
        expect(await assume("sts:AssumeRole", { ...fromTarget, "aws:SourceAccount": outsider })).to.equal("ImplicitlyDenied");
        expect(await assume("sts:AssumeRole", { ...fromTarget, "sts:SourceIdentity": outsider })).to.equal("ImplicitlyDenied");
        expect(
            await assume("sts:AssumeRole", {
                ...fromTarget,
                "aws:SourceArn": `arn:aws:drs:${region}:${target}:recovery-instance/i-1234567890abcdef0`,
            }),
        ).to.equal("ImplicitlyDenied");
    });
});
