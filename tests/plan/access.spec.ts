import { expect } from "chai";
import {
    PolicyDocument,
    TargetAccess,
    buildKeyPolicy,
    buildStagingRoleTrustPolicy,
    buildTargetKeyUsePolicy,
    targetAccessModes,
} from "../../components/policies";
import { Request, Who, accessModel, otherKeyOf, requestContext } from "../../plan/accessModel";
import { decide } from "../../plan/simulate";

// Who can do what on a key, with the key policy and the target's IAM policy evaluated together,
// against the access model the access report judges every plan by (plan/accessModel.ts).
const staging = "444455556666";
const target = "111122223333";
const outsider = "999988887777";
const region = "us-east-1";
const keyArn = `arn:aws:kms:${region}:${staging}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const stagingRoleArn = `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`;
const principals: Record<Who, string> = {
    targetKeyUser: `arn:aws:iam::${target}:role/DrsRecoveryOperator`,
    otherTargetRole: `arn:aws:iam::${target}:role/SomeOtherRole`,
    stagingDrsService: `arn:aws:iam::${staging}:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery`,
    stagingRole: stagingRoleArn,
    stagingAdmin: `arn:aws:iam::${staging}:role/KeyAdministrator`,
    stagingNonAdmin: `arn:aws:iam::${staging}:role/AppServer`,
    outsider: `arn:aws:iam::${outsider}:role/Anyone`,
};
const everything: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "kms:*", Resource: "*" }] };

function policiesFor(targetAccess: TargetAccess) {
    const keyPolicy = buildKeyPolicy({ stagingAccountId: staging, targetAccountId: target, region, stagingRoleArn, targetAccess });
    const targetPolicy = buildTargetKeyUsePolicy({ keyArns: [keyArn], targetAccess });
    const identity: Partial<Record<Who, PolicyDocument[]>> = {
        targetKeyUser: [targetPolicy],
        stagingAdmin: [everything],
        outsider: [everything],
    };
    return { keyPolicy, identity };
}

async function evaluate(targetAccess: TargetAccess, who: Who, request: Request): Promise<"allow" | "deny"> {
    const { keyPolicy, identity } = policiesFor(targetAccess);
    const principal = principals[who];
    const decision = await decide({
        principal,
        action: request.action,
        resource: request.otherKey ? otherKeyOf(keyArn) : keyArn,
        resourceAccount: staging,
        context: requestContext(request, principal.split(":")[4], region, "us-west-2"),
        identityPolicies: identity[who],
        resourcePolicy: keyPolicy,
    });
    return decision === "Allowed" ? "allow" : "deny";
}

for (const targetAccess of targetAccessModes) {
    describe(`access with targetAccess ${targetAccess}`, () => {
        for (const [who, requests] of Object.entries(accessModel(targetAccess)) as [Who, Request[]][]) {
            for (const request of requests) {
                const grant = request.grantForAwsResource === undefined ? "" : ` (GrantIsForAWSResource=${request.grantForAwsResource})`;
                it(`${request.expected === "allow" ? "allows" : "denies"} ${who} ${request.action} ${request.via}${grant}${request.otherKey ? " on another key" : ""}`, async () => {
                    expect(await evaluate(targetAccess, who, request)).to.equal(request.expected);
                });
            }
        }
    });
}

describe("the access model", () => {
    it("holds the documented statements for the target in documented mode, and the EBS page's in ebs-shared-snapshots", () => {
        const allowed = (mode: TargetAccess) =>
            accessModel(mode)
                .targetKeyUser.filter((r) => r.expected === "allow")
                .map((r) => `${r.action} ${r.via}`);
        expect(allowed("documented")).to.deep.equal(["kms:ReEncryptFrom ec2", "kms:ReEncryptTo ec2", "kms:DescribeKey directly"]);
        expect(allowed("ebs-shared-snapshots")).to.deep.equal([
            "kms:Decrypt ec2",
            "kms:GenerateDataKeyWithoutPlaintext ec2",
            "kms:ReEncryptFrom ec2",
            "kms:CreateGrant ec2",
            "kms:DescribeKey directly",
        ]);
    });
});

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
