import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { fleetEntries } from "../support/fleet";
import {
    buildKeyPolicy,
    buildStagingRoleTrustPolicy,
    buildTargetKeyUsePolicy,
    isServiceLinkedRole,
    keyPolicySize,
    knownRegions,
    limits,
    managedPolicySize,
    parseKeyArn,
    parseRoleArn,
    partitionOf,
    planTargetKeyUsePolicies,
    viaService,
} from "../../components/policies";

const staging = "444455556666";
const target = "111122223333";
const stagingRoleArn = `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`;
const drsServiceRole = `arn:aws:iam::${staging}:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery`;
const keyInput = { stagingAccountId: staging, targetAccountId: target, region: "us-east-1", stagingRoleArn } as const;

describe("key policy", () => {
    it("has exactly the statements of docs/aws-requirements.md with ebs-shared-snapshots", () => {
        const doc = buildKeyPolicy({ ...keyInput, stagingRoleUniqueId: "AROAEXAMPLEID1234567", targetAccess: "ebs-shared-snapshots" });
        const ec2AsStaging = { "kms:CallerAccount": staging, "kms:ViaService": "ec2.us-east-1.amazonaws.com" };
        const ec2AsTarget = { "kms:CallerAccount": target, "kms:ViaService": "ec2.us-east-1.amazonaws.com" };
        expect(doc).to.deep.equal({
            Version: "2012-10-17",
            Id: "drs-cross-account-key-policy-AROAEXAMPLEID1234567",
            Statement: [
                {
                    Sid: "EnableStagingAccountAdministration",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${staging}:root` },
                    Action: "kms:*",
                    Resource: "*",
                },
                {
                    Sid: "AllowStagingDrsServiceRoleUseThroughEc2",
                    Effect: "Allow",
                    Principal: { AWS: drsServiceRole },
                    Action: ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                    Resource: "*",
                    Condition: { StringEquals: ec2AsStaging },
                },
                {
                    Sid: "AllowStagingDrsServiceRoleGrantsThroughEc2",
                    Effect: "Allow",
                    Principal: { AWS: drsServiceRole },
                    Action: "kms:CreateGrant",
                    Resource: "*",
                    Condition: { StringEquals: ec2AsStaging, Bool: { "kms:GrantIsForAWSResource": "true" } },
                },
                {
                    Sid: "AllowStagingDrsServiceRoleDescribeKey",
                    Effect: "Allow",
                    Principal: { AWS: drsServiceRole },
                    Action: "kms:DescribeKey",
                    Resource: "*",
                },
                {
                    Sid: "AllowDrsStagingAccountRoleReEncryptThroughEc2",
                    Effect: "Allow",
                    Principal: { AWS: stagingRoleArn },
                    Action: "kms:ReEncrypt*",
                    Resource: "*",
                    Condition: { StringEquals: ec2AsStaging },
                },
                {
                    Sid: "AllowTargetAccountReEncryptThroughEc2",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${target}:root` },
                    Action: "kms:ReEncrypt*",
                    Resource: "*",
                    Condition: { StringEquals: ec2AsTarget },
                },
                {
                    Sid: "AllowTargetAccountDescribeKey",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${target}:root` },
                    Action: ["kms:DescribeKey"],
                    Resource: "*",
                    Condition: { StringEquals: { "kms:CallerAccount": target } },
                },
                {
                    Sid: "AllowTargetAccountUseThroughEc2",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${target}:root` },
                    Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                    Resource: "*",
                    Condition: { StringEquals: ec2AsTarget },
                },
                {
                    Sid: "AllowTargetAccountGrantsThroughEc2",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${target}:root` },
                    Action: ["kms:CreateGrant"],
                    Resource: "*",
                    Condition: { StringEquals: ec2AsTarget, Bool: { "kms:GrantIsForAWSResource": "true" } },
                },
            ],
        });
    });

    it("keeps only the DRS page's target statements with documented", () => {
        const doc = buildKeyPolicy({ ...keyInput, targetAccess: "documented" });
        expect(doc.Id).to.equal("drs-cross-account-key-policy");
        const targetStatements = doc.Statement.filter(
            (s) => JSON.stringify(s.Principal) === JSON.stringify({ AWS: `arn:aws:iam::${target}:root` }),
        );
        expect(targetStatements.map((s) => [s.Sid, s.Action])).to.deep.equal([
            ["AllowTargetAccountReEncryptThroughEc2", "kms:ReEncrypt*"],
            ["AllowTargetAccountDescribeKey", ["kms:DescribeKey"]],
        ]);
    });

    it("never has a service principal, kms:Encrypt, admin actions for the target, or another Region", () => {
        for (const targetAccess of ["ebs-shared-snapshots", "documented"] as const) {
            const doc = buildKeyPolicy({ ...keyInput, region: "eu-west-1", stagingRoleArn, targetAccess });
            const text = JSON.stringify(doc);
            expect(doc.Statement.filter((s) => s.Principal && "Service" in s.Principal)).to.deep.equal([]);
            expect(text).not.to.include("kms:Encrypt");
            expect(text).not.to.include("us-east-1");
            expect(text).not.to.include("drs.eu-west-1");
            for (const s of doc.Statement.filter((s) => JSON.stringify(s.Principal).includes(`${target}:root`))) {
                expect(s.Action).not.to.include("kms:*");
            }
            expect(doc.Statement.filter((s) => s.Action === "kms:*").map((s) => s.Principal)).to.deep.equal([
                { AWS: `arn:aws:iam::${staging}:root` },
            ]);
        }
    });

    it("writes the staging role's unique ID into the policy Id, so a replaced role changes the text", () => {
        const before = JSON.stringify(
            buildKeyPolicy({ ...keyInput, targetAccess: "documented", stagingRoleUniqueId: "AROAAAAAAAAAAAAAAAAAA" }),
        );
        const after = JSON.stringify(
            buildKeyPolicy({ ...keyInput, targetAccess: "documented", stagingRoleUniqueId: "AROABBBBBBBBBBBBBBBBB" }),
        );
        expect(before).not.to.equal(after);
    });

    it("uses the China endpoint suffix and partition in cn Regions", () => {
        const doc = buildKeyPolicy({
            stagingAccountId: staging,
            targetAccountId: target,
            region: "cn-north-1",
            stagingRoleArn: `arn:aws-cn:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`,
            targetAccess: "documented",
        });
        expect(doc.Statement[0].Principal).to.deep.equal({ AWS: `arn:aws-cn:iam::${staging}:root` });
        expect(doc.Statement[1].Condition!.StringEquals["kms:ViaService"]).to.equal("ec2.cn-north-1.amazonaws.com.cn");
    });

    it("refuses bad input with every problem named", () => {
        expect(() =>
            buildKeyPolicy({
                stagingAccountId: target,
                targetAccountId: target,
                region: "us-east",
                stagingRoleArn: `arn:aws:iam::999999999999:role/x`,
                targetAccess: "all" as never,
            }),
        ).to.throw(/must differ.*us-east.*not a role in the staging account.*targetAccess "all"/);
    });

    it("stays far below the 32,768-byte key policy limit", () => {
        const size = keyPolicySize(
            buildKeyPolicy({ ...keyInput, targetAccess: "ebs-shared-snapshots", stagingRoleUniqueId: "AROAEXAMPLEID1234567" }),
        );
        expect(size)
            .to.be.greaterThan(2000)
            .and.lessThan(limits.keyPolicyBytes / 8);
    });
});

describe("target key-use policy", () => {
    const keyEast = `arn:aws:kms:us-east-1:${staging}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const keyEast2 = `arn:aws:kms:us-east-1:555566667777:key/2234abcd-12ab-34cd-56ef-1234567890ab`;
    const keyWest = `arn:aws:kms:us-west-2:${staging}:key/3234abcd-12ab-34cd-56ef-1234567890ab`;

    it("grants exactly the key policy's target actions, on exact keys, through EC2 of each key's Region", () => {
        const doc = buildTargetKeyUsePolicy({ keyArns: [keyWest, keyEast2, keyEast], targetAccess: "ebs-shared-snapshots" });
        const use = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant"];
        expect(doc).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                { Sid: "DescribeDrsKeys", Effect: "Allow", Action: ["kms:DescribeKey"], Resource: [keyEast, keyEast2, keyWest] },
                {
                    Sid: "UseDrsKeysThroughEc2UsEast1",
                    Effect: "Allow",
                    Action: use,
                    Resource: [keyEast, keyEast2],
                    Condition: {
                        StringEquals: { "kms:ViaService": "ec2.us-east-1.amazonaws.com" },
                        BoolIfExists: { "kms:GrantIsForAWSResource": "true" },
                    },
                },
                {
                    Sid: "UseDrsKeysThroughEc2UsWest2",
                    Effect: "Allow",
                    Action: use,
                    Resource: [keyWest],
                    Condition: {
                        StringEquals: { "kms:ViaService": "ec2.us-west-2.amazonaws.com" },
                        BoolIfExists: { "kms:GrantIsForAWSResource": "true" },
                    },
                },
            ],
        });
    });

    it("keeps to ReEncrypt* through EC2 and DescribeKey with documented", () => {
        const doc = buildTargetKeyUsePolicy({ keyArns: [keyEast], targetAccess: "documented" });
        expect(doc.Statement.map((s) => [s.Sid, s.Action])).to.deep.equal([
            ["DescribeDrsKeys", ["kms:DescribeKey"]],
            ["UseDrsKeysThroughEc2UsEast1", ["kms:ReEncrypt*"]],
        ]);
    });

    it("never uses a wildcard key, and refuses what is not a key ARN", () => {
        const doc = buildTargetKeyUsePolicy({ keyArns: [keyEast, keyEast], targetAccess: "ebs-shared-snapshots" });
        expect(JSON.stringify(doc)).not.to.include("key/*");
        expect(doc.Statement[0].Resource).to.deep.equal([keyEast]);
        expect(() => buildTargetKeyUsePolicy({ keyArns: [`arn:aws:kms:us-east-1:${staging}:key/*`], targetAccess: "documented" })).to.throw(
            /not a KMS key ARN/,
        );
        expect(() =>
            buildTargetKeyUsePolicy({ keyArns: [`arn:aws:kms:us-east-1:${staging}:alias/drs`], targetAccess: "documented" }),
        ).to.throw(/not a KMS key ARN/);
        expect(() => buildTargetKeyUsePolicy({ keyArns: [], targetAccess: "documented" })).to.throw(/at least one key/);
    });

    it("refuses one policy over IAM's size limit, with the numbers", () => {
        const keys = fleetKeyArns(60);
        expect(() => buildTargetKeyUsePolicy({ keyArns: keys, targetAccess: "ebs-shared-snapshots" })).to.throw(
            /for 60 keys needs \d+ characters, over IAM's 6144/,
        );
    });
});

/** n keys of distinct accounts in us-east-1, us-west-2 and eu-west-1, as real ARNs would look. */
function fleetKeys(n: number) {
    return fleetEntries(n);
}

function fleetKeyArns(n: number): string[] {
    return fleetKeys(n).map(
        (k, i) => `arn:aws:kms:${k.region}:${k.accountId}:key/${String(i).padStart(8, "0")}-12ab-34cd-56ef-1234567890ab`,
    );
}

describe("target key-use policies at fleet scale", () => {
    it("fits 100 accounts x 3 Regions in at most 10 policies under 6,144 characters, on exact ARNs", () => {
        const keys = fleetKeys(300);
        const arns = fleetKeyArns(300);
        const plan = planTargetKeyUsePolicies({ keys, targetAccess: "ebs-shared-snapshots" });
        expect(plan.length).to.be.within(2, limits.managedPoliciesPerRole);
        expect(plan.flat().sort((a, b) => a - b)).to.deep.equal(keys.map((_, i) => i));
        for (const chunk of plan) {
            const doc = buildTargetKeyUsePolicy({ keyArns: chunk.map((i) => arns[i]), targetAccess: "ebs-shared-snapshots" });
            expect(managedPolicySize(doc)).to.be.at.most(limits.managedPolicyChars);
            const resources = doc.Statement.flatMap((statement) => statement.Resource as string[]);
            expect(resources.filter((arn) => !arns.includes(arn))).to.deep.equal([]);
        }
    });

    it("fills each policy as far as the limit allows: one more key would not fit", () => {
        const keys = fleetKeys(300);
        const arns = fleetKeyArns(300);
        const plan = planTargetKeyUsePolicies({ keys, targetAccess: "ebs-shared-snapshots" });
        for (let c = 0; c < plan.length - 1; c++) {
            const overfull = [...plan[c], plan[c + 1][0]].map((i) => arns[i]);
            expect(() => buildTargetKeyUsePolicy({ keyArns: overfull, targetAccess: "ebs-shared-snapshots" })).to.throw(/over IAM's 6144/);
        }
    });

    it("keeps one policy for a small fleet", () => {
        // In Region order: eu-west-1 (key 2), us-east-1 (key 0), us-west-2 (key 1).
        expect(planTargetKeyUsePolicies({ keys: fleetKeys(3), targetAccess: "documented" })).to.deep.equal([[2, 0, 1]]);
    });

    it("fails at the edge of the per-role quota with the numbers and the way out", () => {
        const keys = fleetKeys(1000);
        expect(() => planTargetKeyUsePolicies({ keys, targetAccess: "ebs-shared-snapshots" })).to.throw(
            /^1000 keys need \d+ target key-use policies of at most 6144 characters \(about \d+ keys each\), but a role may hold 10 managed policies. Raise the IAM quota/,
        );
        const fitsTen = planTargetKeyUsePolicies({ keys: fleetKeys(300), targetAccess: "ebs-shared-snapshots" }).length;
        let n = 300;
        while (planTargetKeyUsePolicies({ keys: fleetKeys(n + 1), targetAccess: "ebs-shared-snapshots", maxPolicies: 20 }).length <= 10)
            n++;
        expect(fitsTen).to.be.at.most(10);
        expect(() => planTargetKeyUsePolicies({ keys: fleetKeys(n), targetAccess: "ebs-shared-snapshots" })).not.to.throw();
        expect(() => planTargetKeyUsePolicies({ keys: fleetKeys(n + 1), targetAccess: "ebs-shared-snapshots" })).to.throw(
            /but a role may hold 10/,
        );
        expect(() =>
            planTargetKeyUsePolicies({ keys: fleetKeys(n + 1), targetAccess: "ebs-shared-snapshots", maxPolicies: 11 }),
        ).not.to.throw();
    });

    it("keeps each key policy far below 32,768 bytes whatever the fleet size", () => {
        const doc = buildKeyPolicy({ ...keyInput, targetAccess: "ebs-shared-snapshots", stagingRoleUniqueId: "AROAEXAMPLEID1234567" });
        expect(keyPolicySize(doc)).to.be.lessThan(limits.keyPolicyBytes);
    });
});

describe("staging role trust policy", () => {
    it("lets only DRS, on behalf of the target account's source servers, assume the role", () => {
        expect(buildStagingRoleTrustPolicy("aws", target)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AllowDrsOnBehalfOfTargetAccount",
                    Effect: "Allow",
                    Principal: { Service: "drs.amazonaws.com" },
                    Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
                    Condition: {
                        StringEquals: { "sts:SourceIdentity": target, "aws:SourceAccount": target },
                        StringLike: { "aws:SourceArn": "arn:aws:drs:*:*:source-server/*" },
                    },
                },
            ],
        });
    });
});

describe("AWS names", () => {
    it("knows only Regions that the AWS provider knows", () => {
        const providerRegions = Object.values(aws.Region) as string[];
        expect(knownRegions.filter((r) => !providerRegions.includes(r))).to.deep.equal([]);
        expect(partitionOf("us-gov-west-1")).to.equal("aws-us-gov");
        // A Region not listed yet takes its partition from its name (AWS adds Regions); a malformed name is refused.
        expect([partitionOf("us-east-7"), partitionOf("cn-east-9"), partitionOf("us-gov-north-3")]).to.deep.equal([
            "aws",
            "aws-cn",
            "aws-us-gov",
        ]);
        expect(() => partitionOf("mars-1")).to.throw(/not an AWS Region name/);
        expect(viaService("ec2", "us-west-2")).to.equal("ec2.us-west-2.amazonaws.com");
    });

    it("recognises service-linked roles by path or reserved name", () => {
        expect(isServiceLinkedRole("AWSServiceRoleForElasticDisasterRecovery")).to.equal(true);
        expect(isServiceLinkedRole("aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery")).to.equal(true);
        expect(
            isServiceLinkedRole(`arn:aws:iam::${target}:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery`),
        ).to.equal(true);
        expect(isServiceLinkedRole("DrsRecoveryOperator")).to.equal(false);
        expect(isServiceLinkedRole(`arn:aws:iam::${target}:role/ops/DrsRecoveryOperator`)).to.equal(false);
    });

    it("splits role and key ARNs", () => {
        expect(parseRoleArn(`arn:aws:iam::${target}:role/ops/team/Recovery`)).to.deep.equal({
            partition: "aws",
            accountId: target,
            path: "/ops/team/",
            name: "Recovery",
        });
        expect(parseRoleArn(`arn:aws:iam::${target}:user/Recovery`)).to.equal(undefined);
        expect(parseKeyArn(`arn:aws:kms:eu-west-1:${staging}:key/mrk-1234abcd`)).to.deep.equal({
            partition: "aws",
            region: "eu-west-1",
            accountId: staging,
            keyId: "mrk-1234abcd",
        });
    });
});
