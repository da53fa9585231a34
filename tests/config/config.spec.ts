import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as yaml from "js-yaml";
import * as path from "path";
import * as v from "valibot";
import { ConfigError, RawConfig, parseConfig, parseStackConfig, secretPlaceholder } from "../../config";
import { readProjectFile, readStackConfigFiles } from "../../config/files";
import { settingsSchema } from "../../config/schema";
import { configProblems } from "../support/configProblems";
import { fleetEntries } from "../support/fleet";
import { checkStagingStackOutputs } from "../../program/contract";

const target = { accountId: "111122223333", keyUserRoleNames: ["DrsRecoveryOperator"] };
const entry = { accountId: "444455556666", region: "us-east-1", replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0" } };
const valid: RawConfig = { target, stagingAccounts: [entry] };

const problems = configProblems;

/** The problems of a config, or none when it parses. */
function problemsOrNone(raw: RawConfig): string[] {
    try {
        parseConfig(raw);
        return [];
    } catch (err) {
        return (err as ConfigError).problems;
    }
}

/** A minimal valid config for the strictness tests. */
const base = { target: { accountId: "111122223333" }, stagingAccounts: [{ accountId: "444455556666", region: "us-east-1" }] };

/** The problems parseConfig reports (without the namespace), or none when it parses. */
function problemsOf(raw: RawConfig): string[] {
    return problemsOrNone(raw).map((p) => p.replace(/^drs-cross-account-kms:/, ""));
}

function expectProblem(raw: RawConfig, key: string, pattern: RegExp) {
    const found = problems(raw);
    expect(
        found.some((p) => p.startsWith(`${key} `) && pattern.test(p)),
        `no "${key}" problem matching ${pattern} in:\n${found.join("\n")}`,
    ).to.equal(true);
}

describe("config", () => {
    it("fills the guide's defaults", () => {
        const { settings, warnings } = parseConfig(valid);
        expect(settings.deploy).to.equal("all");
        expect(settings.key).to.deep.equal({
            alias: "alias/drs-cross-account-ebs",
            description: "DRS EBS encryption key for cross-account recovery",
            deletionWindowInDays: 30,
            enableKeyRotation: true,
            protect: true,
            retainOnDelete: true,
            multiRegion: false,
            targetAccess: "documented",
        });
        expect(settings.stagingAccounts[0]).to.deep.equal({
            accountId: "444455556666",
            region: "us-east-1",
            stagingRole: "create",
            replication: {
                stagingAreaSubnetId: "subnet-0123456789abcdef0",
                associateDefaultSecurityGroup: true,
                bandwidthThrottling: 0,
                createPublicIp: false,
                dataPlaneRouting: "PRIVATE_IP",
                defaultLargeStagingDiskType: "GP3",
                replicationServerInstanceType: "t3.small",
                useDedicatedReplicationServer: false,
                replicationServersSecurityGroupsIds: [],
                stagingAreaTags: {},
                pitRetentionDays: 7,
                retainOnDelete: true,
            },
            ec2SourceAccounts: [],
        });
        expect(settings.alerts).to.deep.equal({ enabled: true });
        expect(warnings).to.deep.equal([]);
    });

    it("reports every problem at once, each naming its key", () => {
        const found = problems({
            deploy: "everything",
            target: { accountId: "1111", keyUserRoleNames: ["AWSServiceRoleForElasticDisasterRecovery"] },
            stagingAccounts: [{ accountId: "44445555666", region: "us-east" }],
            key: { deletionWindowInDays: 3 },
        });
        expect(found.map((p) => p.split(" ")[0])).to.deep.equal([
            "deploy",
            "target.accountId",
            "target.keyUserRoleNames[0]",
            "key.deletionWindowInDays",
            "stagingAccounts[0].accountId",
            "stagingAccounts[0].region",
        ]);
    });

    it("explains every ConfigError problem on its own line of the message", () => {
        try {
            parseConfig({ target: { accountId: "1" } });
            expect.fail("expected an error");
        } catch (err) {
            expect((err as Error).message).to.match(
                /^Invalid stack config \(2 problems\):\n  - drs-cross-account-kms:target.accountId "1" is not a 12-digit AWS account ID.\n  - drs-cross-account-kms:stagingAccounts is required/,
            );
        }
    });

    describe("account IDs", () => {
        it("requires 12 digits, quoted when they start with 0", () => {
            expectProblem({ ...valid, target: { accountId: "11112222333" } }, "target.accountId", /is not a 12-digit AWS account ID/);
            expectProblem({ ...valid, target: { accountId: 12345678901 } }, "target.accountId", /quote the 12-digit account ID/);
            expectProblem({ ...valid, target: {} }, "target.accountId", /is required/);
            expect(parseConfig({ ...valid, target: { accountId: 111122223333 } }).settings.target.accountId).to.equal("111122223333");
        });

        it("refuses a staging account that is the target", () => {
            expectProblem(
                { target, stagingAccounts: [{ ...entry, accountId: target.accountId }] },
                "stagingAccounts[0].accountId",
                /is the target account/,
            );
        });
    });

    describe("staging entries", () => {
        it("requires at least one, unless only the target side is deployed", () => {
            expectProblem({ target }, "stagingAccounts", /is required/);
            expectProblem({ target, stagingAccounts: {} }, "stagingAccounts", /must be a list/);
        });

        it("takes a well-formed Region it does not list, with a warning and its partition from its name", () => {
            const { settings, warnings } = parseConfig({
                target: { ...target, regions: ["us-north-7"] },
                stagingAccounts: [{ ...entry, region: "us-north-7" }],
            });
            expect(settings.stagingAccounts[0].region).to.equal("us-north-7");
            expect(warnings).to.include(
                "us-north-7 is not a Region this version lists; it is taken as a Region of partition aws. Check the spelling.",
            );
            // Two edits from a listed one: taken, with the one likely meant.
            expect(parseConfig({ ...valid, stagingAccounts: [{ ...entry, region: "us-wsett-2" }] }).warnings).to.include(
                "us-wsett-2 is not a Region this version lists; it is taken as a Region of partition aws. Check the spelling: did you mean us-west-2?",
            );
            expect(problems({ ...valid, stagingAccounts: [entry, { ...entry, region: "cn-east-9" }] }).join("\n")).to.match(
                /stagingAccounts\[1\]\.region "cn-east-9" is in partition aws-cn, but stagingAccounts\[0\]\.region "us-east-1" is in aws/,
            );
        });

        it("refuses a Region one edit from a listed one as a typo, naming the key and the one meant, every one at once", () => {
            expect(
                problems({
                    target: { ...target, regions: ["us-esat-1", "us-wset-2"] },
                    stagingAccounts: [entry, { ...entry, region: "us-wset-2" }, { ...entry, region: "us-west-2" }],
                }),
            ).to.deep.equal([
                'stagingAccounts[1].region "us-wset-2" is not a Region this version lists, and one edit from us-west-2: did you mean us-west-2? ' +
                    "Correct it; or, if it is a Region AWS added after this version, set allowUnlistedRegions: true.",
                'target.regions[0] "us-esat-1" is not a Region this version lists, and one edit from us-east-1: did you mean us-east-1? ' +
                    "Correct it; or, if it is a Region AWS added after this version, set allowUnlistedRegions: true.",
                'target.regions[1] "us-wset-2" is not a Region this version lists, and one edit from us-west-2: did you mean us-west-2? ' +
                    "Correct it; or, if it is a Region AWS added after this version, set allowUnlistedRegions: true.",
            ]);
            expect(problems({ ...valid, stagingAccounts: [{ ...entry, region: "us-east-7" }] })).to.deep.equal([
                'stagingAccounts[0].region "us-east-7" is not a Region this version lists, and one edit from us-east-1 and us-east-2: ' +
                    "did you mean us-east-1 or us-east-2? Correct it; or, if it is a Region AWS added after this version, set allowUnlistedRegions: true.",
            ]);
        });

        it("takes a Region one edit from a listed one with allowUnlistedRegions: true, warning with the one likely meant", () => {
            for (const allowUnlistedRegions of [true, "true"]) {
                const { settings, warnings } = parseConfig({
                    allowUnlistedRegions,
                    target: { ...target, regions: ["us-east-7"] },
                    stagingAccounts: [{ ...entry, region: "us-east-7" }],
                });
                expect([settings.allowUnlistedRegions, settings.stagingAccounts[0].region]).to.deep.equal([true, "us-east-7"]);
                expect(warnings).to.include(
                    "us-east-7 is not a Region this version lists; it is taken as a Region of partition aws. " +
                        "Check the spelling (listed: us-east-1, us-east-2): did you mean us-east-1 or us-east-2?",
                );
            }
            expect(parseConfig(valid).settings.allowUnlistedRegions).to.equal(false);
        });

        it("refuses an ill-formed Region and a duplicate (account, Region)", () => {
            expectProblem(
                { target, stagingAccounts: [{ ...entry, region: "us-east" }] },
                "stagingAccounts[0].region",
                /not an AWS Region name/,
            );
            expectProblem(
                { target, stagingAccounts: [entry, { ...entry }] },
                "stagingAccounts[1]",
                /repeats account 444455556666 in us-east-1 \(stagingAccounts\[0\]\)/,
            );
        });

        it("takes a profile per staging account and target, beside or instead of roleArn, the same for one account's entries", () => {
            const { settings } = parseConfig({
                target: { ...target, profile: "target-sso" },
                stagingAccounts: [
                    { ...entry, profile: "staging-sso", roleArn: "arn:aws:iam::444455556666:role/Deploy" },
                    { ...entry, region: "us-west-2", profile: "staging-sso", roleArn: "arn:aws:iam::444455556666:role/Deploy" },
                ],
            });
            expect([settings.target.profile, settings.stagingAccounts.map((e) => e.profile)]).to.deep.equal([
                "target-sso",
                ["staging-sso", "staging-sso"],
            ]);
            expectProblem(
                {
                    target,
                    stagingAccounts: [
                        { ...entry, profile: "a" },
                        { ...entry, region: "us-west-2", profile: "b" },
                    ],
                },
                "stagingAccounts[1].profile",
                /differs from stagingAccounts\[0\]\.profile for the same account 444455556666: one provider signs in to each account/,
            );
            expectProblem(
                { ...valid, target: { ...target, profile: "my profile" } },
                "target.profile",
                /is not an AWS config profile name/,
            );
        });

        it("checks role ARNs' shape and account, and that entries of one account agree", () => {
            expectProblem(
                { target, stagingAccounts: [{ ...entry, roleArn: "arn:aws:iam::444455556666:user/x" }] },
                "stagingAccounts[0].roleArn",
                /is not an IAM role ARN/,
            );
            expectProblem(
                { target, stagingAccounts: [{ ...entry, roleArn: "arn:aws:iam::999988887777:role/Deploy" }] },
                "stagingAccounts[0].roleArn",
                /is a role in account 999988887777, but this entry's account is 444455556666/,
            );
            expectProblem(
                {
                    target,
                    stagingAccounts: [
                        { ...entry, roleArn: "arn:aws:iam::444455556666:role/A" },
                        { ...entry, region: "us-west-2", roleArn: "arn:aws:iam::444455556666:role/B" },
                    ],
                },
                "stagingAccounts[1].roleArn",
                /differs from stagingAccounts\[0\].roleArn/,
            );
            expectProblem(
                {
                    target,
                    stagingAccounts: [
                        { ...entry, stagingRole: "import" },
                        { ...entry, region: "us-west-2" },
                    ],
                },
                "stagingAccounts[1].stagingRole",
                /differs from stagingAccounts\[0\].stagingRole/,
            );
            expectProblem(
                { target, stagingAccounts: [{ ...entry, stagingRole: "adopt" }] },
                "stagingAccounts[0].stagingRole",
                /must be one of create, import, existing/,
            );
            expectProblem(
                { ...valid, target: { ...target, roleArn: "arn:aws:iam::444455556666:role/Deploy" } },
                "target.roleArn",
                /is a role in account 444455556666/,
            );
        });

        it("refuses unknown settings, naming the known ones", () => {
            expectProblem(
                { target, stagingAccounts: [{ ...entry, acountId: "x" }] },
                "stagingAccounts[0].acountId",
                /is not a known setting. Known: accountId, region/,
            );
            expectProblem({ ...valid, stagingAccount: [] }, "stagingAccount", /is not a setting of this program/);
        });
    });

    describe("replication", () => {
        const withReplication = (replication: Record<string, unknown>) => ({ target, stagingAccounts: [{ ...entry, replication }] });
        const subnet = { stagingAreaSubnetId: "subnet-0123456789abcdef0" };

        it("requires a subnet ID of the right shape", () => {
            expectProblem(withReplication({}), "stagingAccounts[0].replication.stagingAreaSubnetId", /is required/);
            expectProblem(
                withReplication({ stagingAreaSubnetId: "subnet-XXXXXXXXX" }),
                "stagingAccounts[0].replication.stagingAreaSubnetId",
                /is not a subnet ID/,
            );
        });

        it("checks each setting's type and values", () => {
            const found = problems(
                withReplication({
                    ...subnet,
                    createPublicIp: "no",
                    bandwidthThrottling: -1,
                    dataPlaneRouting: "PRIVATE",
                    defaultLargeStagingDiskType: "IO2",
                    pitRetentionDays: 400,
                    replicationServersSecurityGroupsIds: ["sg-123"],
                    importTemplateId: "rct-123",
                }),
            );
            expect(found.map((p) => p.split(" ")[0].replace("stagingAccounts[0].replication.", ""))).to.have.members([
                "replicationServersSecurityGroupsIds[0]",
                "importTemplateId",
                "bandwidthThrottling",
                "createPublicIp",
                "dataPlaneRouting",
                "defaultLargeStagingDiskType",
                "pitRetentionDays",
            ]);
        });

        it("accepts the guide's command-line booleans written as YAML", () => {
            const { settings } = parseConfig(withReplication({ ...subnet, createPublicIp: "false", associateDefaultSecurityGroup: true }));
            expect(settings.stagingAccounts[0].replication!.createPublicIp).to.equal(false);
        });

        it("refuses ebsEncryption settings: the program always uses CUSTOM with the entry's key", () => {
            expectProblem(
                withReplication({ ...subnet, ebsEncryption: "DEFAULT" }),
                "stagingAccounts[0].replication.ebsEncryption",
                /is set by the program/,
            );
        });

        it("warns that adopting a template sets the defaults of new servers only, and depends on the Pulumi CLI", () => {
            const { warnings } = parseConfig(withReplication({ ...subnet, importTemplateId: "rct-0123456789abcdef0" }));
            expect(warnings).to.have.length(1);
            expect(warnings[0]).to.match(
                /adopts rct-0123456789abcdef0.*for servers added to .* later\. Servers already replicating there keep their own settings: .*verify.*align-servers.*pulumi\/pulumi#19339.*inputs to import do not match/,
            );
            expect(warnings[0]).to.have.string(
                "Importing the template and updating the settings that differ in one deployment needs Pulumi CLI 3.175.0 or later " +
                    '(pulumi/pulumi#19339 and #19750); older CLIs stop at preview with "inputs to import do not match the existing resource" ' +
                    "until the config matches the template.",
            );
        });

        it("warns when a template is to be deleted with the stack (retainOnDelete: false), and refuses a non-boolean", () => {
            expect(parseConfig(withReplication({ ...subnet, retainOnDelete: false })).warnings.join("\n")).to.match(
                /stagingAccounts\[0\]\.replication\.retainOnDelete is false: .*deletes the template in 444455556666\/us-east-1/,
            );
            expectProblem(
                withReplication({ ...subnet, retainOnDelete: "no" }),
                "stagingAccounts[0].replication.retainOnDelete",
                /true or false/,
            );
        });

        it("warns when an entry has no replication block", () => {
            const { warnings } = parseConfig({ target, stagingAccounts: [{ accountId: "444455556666", region: "us-east-1" }] });
            expect(warnings).to.deep.equal([
                "stagingAccounts[0] (444455556666 in us-east-1) has no replication block: the key is created, but DRS does not use it until a replication template points at it. Add replication, or set the template's key ARN yourself.",
            ]);
            const fleet = Array.from({ length: 7 }, (_, i) => ({ accountId: String(200000000000 + i), region: "us-east-1" })); // one Region
            expect(parseConfig({ target, stagingAccounts: fleet }).warnings).to.deep.equal([
                "stagingAccounts[0] (200000000000 in us-east-1), stagingAccounts[1] (200000000001 in us-east-1), stagingAccounts[2] (200000000002 in us-east-1), " +
                    "stagingAccounts[3] (200000000003 in us-east-1), stagingAccounts[4] (200000000004 in us-east-1) and 2 more have no replication block: " +
                    "the key is created, but DRS does not use it until a replication template points at it. Add replication, or set the template's key ARN yourself.",
            ]);
        });
    });

    describe("importKeyId and multi-Region keys", () => {
        const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
        const withKey = (importKeyId: unknown, region = "us-east-1") => ({
            ...valid,
            stagingAccounts: [{ ...entry, region, importKeyId }],
        });

        it("takes a key ID, a multi-Region key ID or a key ARN of the entry's account and Region, and keeps the key ID", () => {
            expect(parseConfig(withKey(keyId)).settings.stagingAccounts[0].importKeyId).to.equal(keyId);
            const mrk = "mrk-0123456789abcdef0123456789abcdef";
            expect(parseConfig(withKey(mrk)).settings.stagingAccounts[0].importKeyId).to.equal(mrk);
            expect(
                parseConfig(withKey(`arn:aws:kms:us-east-1:444455556666:key/${keyId}`)).settings.stagingAccounts[0].importKeyId,
            ).to.equal(keyId);
        });

        it("warns what adopting a key changes on it, and which Pulumi CLI it needs", () => {
            const { warnings } = parseConfig(withKey(keyId));
            expect(warnings).to.deep.equal([
                `stagingAccounts[0] (${keyId} in 444455556666/us-east-1) adopts an existing key: the program replaces the key policy ` +
                    "with its own (`pulumi preview` shows the difference), enables a disabled key, sets the description to key.description and rotation " +
                    "to key.enableKeyRotation (a multi-Region replica's follows its primary), and sets the tags to the program's: the default tags " +
                    "(ManagedBy, Project and `tags`) and the key's own (Purpose, TargetAccount); any other tag is removed. It adopts an existing alias " +
                    "of key.alias's name. Key spec, usage and multi-Region are taken from the key. An adopted key is never deleted by the program " +
                    "(key.retainOnDelete). Importing a key and updating it in one deployment needs Pulumi CLI 3.175.0 or later " +
                    '(pulumi/pulumi#19339 and #19750); older CLIs stop at preview with "inputs to import do not match the existing resource".',
            ]);
            expect(parseConfig({ ...withKey(keyId), key: { retainOnDelete: false } }).warnings.join("\n")).to.have.string(
                "An adopted key is never deleted by the program: but key.retainOnDelete is false. Importing a key",
            );
        });

        it("refuses an alias, a malformed ID, and a key ARN of another account or Region", () => {
            expectProblem(
                withKey("alias/drs-cross-account-ebs"),
                "stagingAccounts[0].importKeyId",
                /is not a key ID .* An alias does not name a key for good/,
            );
            expectProblem(withKey("1234"), "stagingAccounts[0].importKeyId", /is not a key ID/);
            expectProblem(
                withKey(`arn:aws:kms:us-west-2:444455556666:key/${keyId}`),
                "stagingAccounts[0].importKeyId",
                /is a key in 444455556666\/us-west-2, but this entry is 444455556666\/us-east-1/,
            );
        });

        it("refuses one key named by two entries, except a multi-Region ID in two Regions of one account", () => {
            const twice = (importKeyId: string, second: Record<string, unknown>) => ({
                ...valid,
                stagingAccounts: [
                    { ...entry, importKeyId },
                    { ...entry, ...second, importKeyId },
                ],
            });
            expectProblem(twice(keyId, { region: "us-west-2" }), "stagingAccounts[1].importKeyId", /names the key of stagingAccounts\[0\]/);
            const mrk = "mrk-0123456789abcdef0123456789abcdef";
            expect(problemsOrNone(twice(mrk, { region: "us-west-2" }))).to.deep.equal([]);
            expectProblem(twice(mrk, { accountId: "555566667777" }), "stagingAccounts[1].importKeyId", /a key belongs to one account/);
        });

        it("reads key.multiRegion, key.primaryRegion and key.retainOnDelete, with warnings where they do nothing or delete", () => {
            const { settings, warnings } = parseConfig({
                ...valid,
                key: { multiRegion: true, primaryRegion: "eu-west-1", retainOnDelete: false },
            });
            expect([settings.key.multiRegion, settings.key.primaryRegion, settings.key.retainOnDelete]).to.deep.equal([
                true,
                "eu-west-1",
                false,
            ]);
            expect(warnings.join("\n")).to.match(/key.primaryRegion eu-west-1 has no staging entry/);
            expect(warnings.join("\n")).to.match(/key.retainOnDelete is false/);
            expect(parseConfig({ ...valid, key: { primaryRegion: "us-east-1" } }).warnings).to.include(
                "key.primaryRegion is ignored without key.multiRegion: true.",
            );
            expectProblem({ ...valid, key: { primaryRegion: "moon-1" } }, "key.primaryRegion", /is not an AWS Region name/);
            expectProblem({ ...valid, key: { multiRegion: "yes" } }, "key.multiRegion", /true or false/);
        });
    });

    describe("identityCenter", () => {
        const instanceArn = "arn:aws:sso:::instance/ssoins-0123456789abcdef";
        const permissionSetArn = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef";
        const identityCenter = { accountId: "999988887777", region: "eu-west-1", instanceArn, permissionSetArns: [permissionSetArn] };

        it("reads the instance, its account and Region, and the permission sets", () => {
            const { settings, warnings } = parseConfig({ ...valid, target: { accountId: target.accountId }, identityCenter });
            expect(settings.identityCenter).to.deep.equal(identityCenter);
            expect(warnings.join("\n")).not.to.match(/keyUserRoleNames is empty/);
        });

        it("reports every malformed value, naming its key", () => {
            const raw = {
                ...valid,
                identityCenter: {
                    accountId: "9999",
                    region: "eu-west-1",
                    instanceArn: "arn:aws:sso:::instance/i-1",
                    permissionSetArns: ["arn:aws:sso:::permissionSet/ssoins-aaaaaaaaaaaaaaaa/ps-0123456789abcdef", "ps-1"],
                    roleArn: "arn:aws:iam::111122223333:role/Deploy",
                },
            };
            expectProblem(raw, "identityCenter.accountId", /is not a 12-digit AWS account ID/);
            expectProblem(raw, "identityCenter.instanceArn", /is not an IAM Identity Center instance ARN/);
            expectProblem(raw, "identityCenter.permissionSetArns[1]", /is not a permission set ARN/);
            expectProblem(
                { ...valid, identityCenter: { ...identityCenter, permissionSetArns: [] } },
                "identityCenter.permissionSetArns",
                /is empty/,
            );
            expectProblem(
                {
                    ...valid,
                    identityCenter: {
                        ...identityCenter,
                        permissionSetArns: ["arn:aws:sso:::permissionSet/ssoins-aaaaaaaaaaaaaaaa/ps-0123456789abcdef"],
                    },
                },
                "identityCenter.permissionSetArns[0]",
                /belongs to instance ssoins-aaaaaaaaaaaaaaaa, not ssoins-0123456789abcdef/,
            );
            expectProblem(
                { ...valid, identityCenter: { ...identityCenter, region: "cn-north-1" } },
                "identityCenter.region",
                /"cn-north-1" is in partition aws-cn, but stagingAccounts\[0\]\.region "us-east-1" is in aws/,
            );
            expectProblem(
                { ...valid, identityCenter: { ...identityCenter, instances: 1 } },
                "identityCenter.instances",
                /is not a known setting/,
            );
        });

        it("is ignored, with a warning, by a staging stack", () => {
            const { warnings } = parseConfig({ ...valid, deploy: "staging", identityCenter });
            expect(warnings).to.include(
                "identityCenter is ignored with deploy: staging; the target stack references the key-use policies from the permission sets.",
            );
        });
    });

    describe("target", () => {
        it("refuses service-linked roles, explaining why", () => {
            for (const role of [
                "AWSServiceRoleForElasticDisasterRecovery",
                "arn:aws:iam::111122223333:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery",
            ]) {
                expectProblem(
                    { ...valid, target: { ...target, keyUserRoleNames: [role] } },
                    "target.keyUserRoleNames[0]",
                    /is a service-linked role. IAM rejects any policy attached to a service-linked role \(UnmodifiableEntity\)/,
                );
            }
        });

        it("refuses IAM Identity Center roles, pointing to identityCenter", () => {
            for (const role of [
                "AWSReservedSSO_DrOperators_0123456789abcdef",
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DrOperators_0123456789abcdef",
            ]) {
                expectProblem(
                    { ...valid, target: { ...target, keyUserRoleNames: [role] } },
                    "target.keyUserRoleNames[0]",
                    /is a role of IAM Identity Center .* IAM refuses to attach a policy to them\. Set identityCenter \(instanceArn, permissionSetArns\)/,
                );
            }
            // A customer role whose name merely contains the words is fine.
            expect(
                parseConfig({ ...valid, target: { ...target, keyUserRoleNames: ["DrOperatorsFromSSO"] } }).settings.target.keyUserRoleNames,
            ).to.deep.equal(["DrOperatorsFromSSO"]);
        });

        it("takes role names or target-account role ARNs, and attaches by name", () => {
            const { settings } = parseConfig({
                ...valid,
                target: { ...target, keyUserRoleNames: ["A", "arn:aws:iam::111122223333:role/ops/B"] },
            });
            expect(settings.target.keyUserRoleNames).to.deep.equal(["A", "B"]);
            expectProblem(
                { ...valid, target: { ...target, keyUserRoleNames: ["arn:aws:iam::444455556666:role/B"] } },
                "target.keyUserRoleNames[0]",
                /not the target account/,
            );
            expectProblem(
                { ...valid, target: { ...target, keyUserRoleNames: ["A", "arn:aws:iam::111122223333:role/ops/A"] } },
                "target.keyUserRoleNames[1]",
                /^target\.keyUserRoleNames\[1\] "arn:aws:iam::111122223333:role\/ops\/A" names the same role as target\.keyUserRoleNames\[0\] "A"\. List the role once\.$/,
            );
            expectProblem(
                { ...valid, target: { ...target, keyUserRoleNames: ["bad name"] } },
                "target.keyUserRoleNames[0]",
                /is not an IAM role name/,
            );
        });

        it("explains the guide's cross-Region mistake", () => {
            expectProblem(
                { ...valid, target: { ...target, regions: ["us-west-2"] } },
                "target.regions[0]",
                /"us-west-2" has no staging key. KMS keys are regional: a key in us-east-1 is never used through ec2.us-west-2/,
            );
            expectProblem(
                { ...valid, target: { ...target, regions: ["us-west-2"] } },
                "stagingAccounts[0].region",
                /"us-east-1" is not in target.regions/,
            );
            expectProblem({ ...valid, target: { ...target, regions: ["us-west"] } }, "target.regions[0]", /not an AWS Region name/);
            expect(parseConfig({ ...valid, target: { ...target, regions: ["us-east-1"] } }).settings.target.regions).to.deep.equal([
                "us-east-1",
            ]);
        });

        it("warns when the key-use policy would be attached to no role", () => {
            const { warnings } = parseConfig({ ...valid, target: { accountId: target.accountId } });
            expect(warnings.join("\n")).to.match(/keyUserRoleNames is empty/);
        });
    });

    describe("key", () => {
        it("checks alias, deletion window, rotation, protection and target access", () => {
            const found = problems({
                ...valid,
                key: { alias: "alias/aws/ebs", deletionWindowInDays: 31, enableKeyRotation: "yes", protect: 1, targetAccess: "full" },
            });
            expect(found.map((p) => p.split(" ")[0])).to.deep.equal([
                "key.alias",
                "key.deletionWindowInDays",
                "key.enableKeyRotation",
                "key.protect",
                "key.targetAccess",
            ]);
            expectProblem({ ...valid, key: { alias: "drs-key" } }, "key.alias", /Use alias\/<name>/);
        });

        it("warns when protection or rotation is turned off", () => {
            const { warnings } = parseConfig({ ...valid, key: { protect: false, enableKeyRotation: false } });
            expect(warnings).to.have.length(2);
            expect(warnings.join("\n")).to.match(
                /enableKeyRotation is false[\s\S]*protect is false: `pulumi destroy` removes the keys .* stay in AWS/,
            );
            expect(parseConfig({ ...valid, key: { protect: false, retainOnDelete: false } }).warnings.join("\n")).to.match(
                /protect is false: `pulumi destroy` can schedule the key's deletion/,
            );
        });
    });

    describe("fleet size", () => {
        const fleet = (accounts: number) => fleetEntries(accounts * 3);

        it("accepts 100 staging accounts in 3 Regions", () => {
            expect(parseConfig({ target, stagingAccounts: fleet(100) }).settings.stagingAccounts).to.have.length(300);
        });

        it("refuses, before any resource, a fleet whose key-use policies a role cannot hold", () => {
            expectProblem(
                { target, stagingAccounts: fleet(200) },
                "stagingAccounts",
                /^stagingAccounts 600 keys need \d+ target key-use policies.*a role may hold 10 managed policies/,
            );
            expect(
                parseConfig({ target: { ...target, maxPoliciesPerRole: 20 }, stagingAccounts: fleet(200) }).settings.target
                    .maxPoliciesPerRole,
            ).to.equal(20);
            expectProblem(
                { target: { ...target, maxPoliciesPerRole: 21 }, stagingAccounts: [entry] },
                "target.maxPoliciesPerRole",
                /from 1 to 20/,
            );
        });
    });

    describe("deploy modes", () => {
        it("requires stagingStacks, of valid names, for deploy: target", () => {
            expectProblem({ deploy: "target", target }, "stagingStacks", /is required with deploy: target/);
            expectProblem({ deploy: "target", target, stagingStacks: ["org/proj/stack/extra"] }, "stagingStacks[0]", /is not a stack name/);
            const { settings } = parseConfig({ deploy: "target", target, stagingStacks: ["organization/drs-cross-account-kms/staging"] });
            expect(settings.stagingAccounts).to.deep.equal([]);
        });

        it("says which settings a mode ignores", () => {
            expect(parseConfig({ deploy: "target", target, stagingStacks: ["staging"], stagingAccounts: [entry] }).warnings).to.deep.equal([
                "stagingAccounts is ignored with deploy: target; the keys come from stagingStacks.",
            ]);
            expect(parseConfig({ ...valid, deploy: "staging", stagingStacks: ["staging"] }).warnings).to.deep.equal([
                "stagingStacks is ignored with deploy: staging; it is read only with deploy: target.",
                "target.keyUserRoleNames is ignored with deploy: staging; the target stack attaches the key-use policy.",
            ]);
        });
    });
});

describe("staging stack outputs, read by the target stack", () => {
    const key = (accountId: string, region: string) => ({
        accountId,
        region,
        keyId: "k",
        keyArn: `arn:aws:kms:${region}:${accountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
        aliasName: "alias/drs-cross-account-ebs",
        stagingRoleArn: `arn:aws:iam::${accountId}:role/service-role/DRSStagingAccountRole_111122223333`,
    });
    const stack = (name: string, keys: unknown[], extra: Record<string, unknown> = {}) => ({
        stack: name,
        targetAccountId: "111122223333",
        targetAccess: "ebs-shared-snapshots",
        stagingKeys: keys,
        ...extra,
    });
    const targetSettings = { accountId: "111122223333", keyUserRoleNames: [], maxPoliciesPerRole: 10, unprotectedServers: [], launch: [] };
    const check = (stacks: ReturnType<typeof stack>[], regions?: string[]) =>
        checkStagingStackOutputs(stacks, { ...targetSettings, regions }, "ebs-shared-snapshots");

    it("joins the keys of every staging stack", () => {
        const keys = check([stack("a", [key("444455556666", "us-east-1")]), stack("b", [key("555566667777", "us-east-1")])], ["us-east-1"]);
        expect(keys.map((k) => k.accountId)).to.deep.equal(["444455556666", "555566667777"]);
    });

    it("reports a wrong target, a different targetAccess, no keys, duplicates and Region mismatches", () => {
        const run = (stacks: ReturnType<typeof stack>[], regions?: string[]) => {
            try {
                check(stacks, regions);
                return [];
            } catch (err) {
                return (err as ConfigError).problems;
            }
        };
        expect(run([stack("a", [key("444455556666", "us-east-1")], { targetAccountId: "999988887777" })])[0]).to.match(
            /stagingStacks\[0\] "a" was deployed for target account "999988887777"/,
        );
        expect(run([stack("a", [key("444455556666", "us-east-1")], { targetAccess: "documented" })])[0]).to.match(
            /shares its keys with key.targetAccess "documented"/,
        );
        expect(run([stack("a", [])])[0]).to.match(/exports no stagingKeys/);
        expect(run([stack("a", [key("444455556666", "us-east-1")]), stack("b", [key("444455556666", "us-east-1")])])[0]).to.match(
            /stagingStacks\[1\] "b" exports a key for 444455556666 in us-east-1, as "a" does/,
        );
        expect(run([stack("a", [key("444455556666", "us-east-1")])], ["us-west-2"])).to.have.length(2);
        expect(run([stack("a", [key("444455556666", "us-east-1")])], ["us-west-2"])[0]).to.match(
            /has a key in us-east-1, which is not in target.regions/,
        );
        expect(run([stack("a", [key("444455556666", "us-east-1")])], ["us-east-1", "us-west-2"])[0]).to.match(
            /target.regions\[1\] "us-west-2" has no staging key/,
        );
    });

    it("reports every Region problem of target.regions and target.launch in one run, not one a run", () => {
        const found = (() => {
            try {
                checkStagingStackOutputs(
                    [stack("a", [key("444455556666", "us-east-1"), key("444455556666", "ap-south-1")])],
                    { ...targetSettings, regions: ["us-west-2", "eu-west-1", "us-east-1"], launch: [{ region: "eu-west-1" }] } as never,
                    "ebs-shared-snapshots",
                );
                return [];
            } catch (err) {
                return (err as ConfigError).problems.map((p) =>
                    p.replace(/^drs-cross-account-kms:/, "").replace(/(staging stacks[.:]) .*/, "$1"),
                );
            }
        })();
        expect(found).to.deep.equal([
            'stagingStacks[0] "a" has a key in ap-south-1, which is not in target.regions. Add ap-south-1 to target.regions.',
            'target.regions[0] "us-west-2" has no staging key in the staging stacks.',
            'target.regions[1] "eu-west-1" has no staging key in the staging stacks.',
            'target.launch[0].region "eu-west-1" has no staging key in the staging stacks:',
        ]);
    });
});

describe("config as strict as AWS", () => {
    it("keeps one stack in one partition: Regions and every ARN", () => {
        expect(
            problemsOf({
                ...base,
                target: { accountId: "111122223333", roleArn: "arn:aws-cn:iam::111122223333:role/Deploy" },
                stagingAccounts: [
                    { accountId: "444455556666", region: "us-east-1", alertTopicArn: "arn:aws-us-gov:sns:us-east-1:444455556666:alerts" },
                    { accountId: "555566667777", region: "us-gov-west-1" },
                ],
            }),
        ).to.have.members([
            'stagingAccounts[1].region "us-gov-west-1" is in partition aws-us-gov, but stagingAccounts[0].region "us-east-1" is in aws: nothing crosses partitions, so one stack\'s accounts, Regions and ARNs are all in one.',
            'target.roleArn "arn:aws-cn:iam::111122223333:role/Deploy" is in partition aws-cn, but stagingAccounts[0].region "us-east-1" is in aws: nothing crosses partitions, so one stack\'s accounts, Regions and ARNs are all in one.',
            'stagingAccounts[0].alertTopicArn "arn:aws-us-gov:sns:us-east-1:444455556666:alerts" is in partition aws-us-gov, but stagingAccounts[0].region "us-east-1" is in aws: nothing crosses partitions, so one stack\'s accounts, Regions and ARNs are all in one.',
        ]);
    });

    it("holds tags to AWS's rules, and reads numbers and booleans as text", () => {
        const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`Tag${i}`, "x"]));
        const [reserved, tooMany, long] = [{ "aws:owner": "me" }, many, { Owner: "x".repeat(300) }].map((tags) =>
            problemsOf({ ...base, tags }),
        );
        expect(reserved).to.deep.equal(['tags the tag name "aws:owner" uses the aws: prefix, which AWS reserves.']);
        expect(tooMany).to.deep.equal(["tags has 60 tags; at most 46 fit on a resource with the program's own."]);
        expect(long[0]).to.match(/^tags the tag "Owner" has a value that is not up to 256 of letters/);
        expect(problemsOf({ ...base, tags: { "bad*name": "x" } })[0]).to.match(/tag name "bad\*name" is not 1 to 128/);
        expect(parseConfig({ ...base, tags: { CostCenter: 1234, Critical: true } }).settings.tags).to.deep.equal({
            CostCenter: "1234",
            Critical: "true",
        });
        expect(
            problemsOf({
                ...base,
                stagingAccounts: [
                    {
                        ...base.stagingAccounts[0],
                        replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0", stagingAreaTags: { "AWS:x": "y" } },
                    },
                ],
            }),
        ).to.deep.equal(['stagingAccounts[0].replication.stagingAreaTags the tag name "AWS:x" uses the aws: prefix, which AWS reserves.']);
    });

    it("refuses lengths and shapes AWS refuses: description, alias, instance type, stack reference, IDs", () => {
        expect(problemsOf({ ...base, key: { description: "d".repeat(9000) } })).to.deep.equal([
            "key.description must be a non-empty string of at most 8,192 characters.",
        ]);
        expect(problemsOf({ ...base, key: { alias: `alias/${"a".repeat(251)}` } })[0]).to.match(/^key.alias .* at most 256 characters/);
        const replication = (extra: Record<string, unknown>) => ({
            ...base,
            stagingAccounts: [{ ...base.stagingAccounts[0], replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0", ...extra } }],
        });
        expect(problemsOf(replication({ replicationServerInstanceType: "t3.small; rm -rf /" }))).to.deep.equal([
            'stagingAccounts[0].replication.replicationServerInstanceType "t3.small; rm -rf /" is not an EC2 instance type (family.size, such as t3.small).',
        ]);
        expect(
            parseConfig(replication({ replicationServerInstanceType: "m5.2xlarge" })).settings.stagingAccounts[0].replication!
                .replicationServerInstanceType,
        ).to.equal("m5.2xlarge");
        expect(problemsOf({ deploy: "target", target: base.target, stagingStacks: ["../../staging"] })).to.deep.equal([
            'stagingStacks[0] "../../staging" is not a stack name. Use <stack>, <project>/<stack> or <organization>/<project>/<stack>.',
        ]);
        expect(problemsOf(replication({ replicationServersSecurityGroupsIds: ["sg-12"] }))[0]).to.match(/is not a security group ID/);
    });
});

describe("config mistakes that pulumi config set makes easy", () => {
    const topKeys =
        "deploy, target, targets, key, tags, alerts, stagingAccounts, stagingStacks, pricing, identityCenter, allowUnlistedRegions";
    const entryKeys =
        "accountId, region, roleArn, profile, stagingRole, replication, alertTopicArn, ec2SourceAccounts, failback, importKeyId";
    const replicationKeys =
        "stagingAreaSubnetId, associateDefaultSecurityGroup, bandwidthThrottling, createPublicIp, dataPlaneRouting, defaultLargeStagingDiskType, " +
        "replicationServerInstanceType, useDedicatedReplicationServer, replicationServersSecurityGroupsIds, stagingAreaTags, pitRetentionDays, " +
        "autoReplicateNewDisks, importTemplateId, retainOnDelete";
    const withSubnet = (replication: Record<string, unknown>) => ({
        ...base,
        stagingAccounts: [{ ...base.stagingAccounts[0], replication }],
    });

    it("explains a dotted key set without --path, once, without a follow-on 'target is required'", () => {
        expect(problemsOf({ stagingAccounts: base.stagingAccounts, "target.accountId": "111122223333" })).to.deep.equal([
            "target.accountId is set as one key whose name contains a dot, not as target's setting: set it with " +
                "`pulumi config set --path 'drs-cross-account-kms:target.accountId' <value>`, and remove this key (`pulumi config rm 'drs-cross-account-kms:target.accountId'`).",
        ]);
    });

    it("reports a typo once, with what was meant, at every level", () => {
        expect(problemsOf({ ...base, stagingAccounts: [{ accountId: "444455556666", regoin: "us-east-1" }] })).to.deep.equal([
            "stagingAccounts[0].regoin is not a known setting. Known: accountId, region, roleArn, profile, stagingRole, replication, alertTopicArn, ec2SourceAccounts, failback, importKeyId. Did you mean region?",
        ]);
        expect(problemsOf({ ...base, key: { alais: "alias/x" } })).to.deep.equal([
            "key.alais is not a known setting. Known: alias, description, deletionWindowInDays, enableKeyRotation, protect, retainOnDelete, multiRegion, primaryRegion, targetAccess. Did you mean alias?",
        ]);
        expect(problemsOf({ ...base, targte: { accountId: "111122223333" } })).to.deep.include(
            "targte is not a setting of this program. Known keys: deploy, target, targets, key, tags, alerts, stagingAccounts, stagingStacks, pricing, identityCenter, allowUnlistedRegions. Did you mean target?",
        );
    });

    it("reports a key that differs only in case as one problem, with the key meant, and the missing key folded into it", () => {
        expect(problemsOf(withSubnet({ stagingAreaSubnetID: "subnet-0123456789abcdef0" }))).to.deep.equal([
            `stagingAccounts[0].replication.stagingAreaSubnetID is not a known setting. Known: ${replicationKeys}. Did you mean stagingAreaSubnetId?`,
        ]);
        // Every misspelt key of one mapping, not only the first, each with its own required key folded in.
        expect(problemsOf({ ...base, stagingAccounts: [{ AccountId: "444455556666", Region: "us-east-1" }] })).to.deep.equal([
            `stagingAccounts[0].AccountId is not a known setting. Known: ${entryKeys}. Did you mean accountId?`,
            `stagingAccounts[0].Region is not a known setting. Known: ${entryKeys}. Did you mean region?`,
        ]);
        // At the top: no "target is required" or "stagingAccounts is required" beside the misspelt keys.
        expect(problemsOf({ Target: base.target, StagingAccounts: base.stagingAccounts })).to.deep.equal([
            `Target is not a setting of this program. Known keys: ${topKeys}. Did you mean target?`,
            `StagingAccounts is not a setting of this program. Known keys: ${topKeys}. Did you mean stagingAccounts?`,
        ]);
        expect(problemsOf({ deploy: "target", target: base.target, stagingstacks: ["staging"] })).to.deep.equal([
            `stagingstacks is not a setting of this program. Known keys: ${topKeys}. Did you mean stagingStacks?`,
        ]);
    });

    it("does not judge a secret the offline tools cannot decrypt, and never prints it", () => {
        const { settings } = parseConfig({
            target: { accountId: secretPlaceholder, roleArn: secretPlaceholder },
            stagingAccounts: [{ accountId: "444455556666", region: "us-east-1", roleArn: secretPlaceholder }],
        });
        expect([settings.target.accountId, settings.target.roleArn, settings.stagingAccounts[0].roleArn]).to.deep.equal([
            "[secret]",
            "[secret]",
            "[secret]",
        ]);
    });
});

describe("config namespaces", () => {
    const stack = (extra: Record<string, unknown>) => ({
        "drs-cross-account-kms:target": { accountId: "111122223333" },
        "drs-cross-account-kms:stagingAccounts": [{ accountId: "444455556666", region: "us-east-1" }],
        "aws:region": "us-east-1",
        "pulumi:disable-default-providers": ["*"],
        ...extra,
    });
    const problemsOf = (config: Record<string, unknown>): string[] => {
        try {
            parseStackConfig(config);
            return [];
        } catch (err) {
            return (err as ConfigError).problems;
        }
    };

    it("allows other namespaces (aws:, pulumi:) and reads its own", () => {
        expect(parseStackConfig(stack({})).settings.target.accountId).to.equal("111122223333");
    });

    it("refuses a namespace one or two letters off, and this program's keys under another namespace, naming the one meant", () => {
        expect(problemsOf(stack({ "drs-cross-acount-kms:key": { targetAccess: "documented" } }))).to.deep.equal([
            "drs-cross-acount-kms:key is under the namespace \"drs-cross-acount-kms\", which this program never reads: did you mean drs-cross-account-kms:key? (pulumi config set 'drs-cross-account-kms:key' ...)",
        ]);
        expect(problemsOf(stack({ "my-project:stagingAccounts": [] }))).to.deep.equal([
            "my-project:stagingAccounts is under the namespace \"my-project\", which this program never reads: did you mean drs-cross-account-kms:stagingAccounts? (pulumi config set --path 'drs-cross-account-kms:stagingAccounts' ...)",
        ]);
        expect(problemsOf(stack({ "my-project:instanceSize": "large" }))).to.deep.equal([]);
    });
});

describe("Pulumi.yaml's config declarations", () => {
    it("declare, with the schema's type, default and doc, every setting Pulumi's project config can type", () => {
        const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")) as {
            config: Record<string, { type: string; description: string; default: unknown; items?: { type: string } }>;
        };
        const typeOf = (value: unknown) => (Array.isArray(value) ? "array" : typeof value === "number" ? "integer" : typeof value);
        // Pulumi's project config has no object type (pulumi/pulumi#11321): those settings stay undeclared.
        const declarable = Object.entries(settingsSchema).filter(([, schema]) => {
            const fallback = v.getDefault(schema as v.GenericSchema);
            return (
                ["string", "integer", "boolean"].includes(typeOf(fallback)) ||
                (Array.isArray(fallback) && (fallback as unknown[]).every((x) => typeof x !== "object"))
            );
        });
        expect(Object.keys(project.config).sort()).to.deep.equal(declarable.map(([key]) => key).sort());
        for (const [key, schema] of declarable) {
            const declared = project.config[key];
            const fallback = v.getDefault(schema as v.GenericSchema);
            expect([declared.type, declared.default, declared.description], key).to.deep.equal([
                typeOf(fallback),
                fallback,
                v.getDescription(schema as v.GenericSchema),
            ]);
        }
    });
});

describe("config values at the edges", () => {
    const sectionList =
        "deploy, target, targets, key, tags, alerts, stagingAccounts, stagingStacks, pricing, identityCenter, allowUnlistedRegions";
    const keyList =
        "alias, description, deletionWindowInDays, enableKeyRotation, protect, retainOnDelete, multiRegion, primaryRegion, targetAccess";
    const targetList = "accountId, roleArn, profile, regions, keyUserRoleNames, maxPoliciesPerRole, unprotectedServers, launch";
    const replicationList =
        "stagingAreaSubnetId, associateDefaultSecurityGroup, bandwidthThrottling, createPublicIp, dataPlaneRouting, defaultLargeStagingDiskType, " +
        "replicationServerInstanceType, useDedicatedReplicationServer, replicationServersSecurityGroupsIds, stagingAreaTags, pitRetentionDays, " +
        "autoReplicateNewDisks, importTemplateId, retainOnDelete";
    const subnet = "subnet-0123456789abcdef0";
    const withReplication = (replication: Record<string, unknown>) => ({
        ...base,
        stagingAccounts: [{ ...base.stagingAccounts[0], replication: { stagingAreaSubnetId: subnet, ...replication } }],
    });

    it("answers a 100,000-character unknown key at once, showing its first 128 characters and its length", () => {
        const long = "a".repeat(100_000);
        const shown = `"${"a".repeat(128)}…" (100000 characters)`;
        const raw = { ...base, [long]: 1, key: { [long]: 1 }, target: { ...base.target, [long]: 1 } };
        const heap = process.memoryUsage().heapUsed;
        const started = Date.now();
        const found = problemsOf(raw);
        // Before: the did-you-mean search allocated a 100,001² table (out of memory in seconds).
        expect(Date.now() - started).to.be.lessThan(1000);
        expect(process.memoryUsage().heapUsed - heap).to.be.lessThan(50 * 1024 * 1024);
        expect(found).to.deep.equal([
            `target[${shown}] is not a known setting. Known: ${targetList}.`,
            `key[${shown}] is not a known setting. Known: ${keyList}.`,
            `${shown} is not a setting of this program. Known keys: ${sectionList}.`,
        ]);
    });

    it("shows a long value, a long namespace and a long tag name by their first 128 characters and length", () => {
        const long = "x".repeat(1_000_000);
        expect(problemsOf({ ...base, stagingAccounts: [{ ...base.stagingAccounts[0], region: long }] })).to.deep.equal([
            `stagingAccounts[0].region "${"x".repeat(128)}…" (1000000 characters) is not an AWS Region name (such as us-east-1).`,
        ]);
        expect(problemsOf({ ...base, tags: { [long]: "x" } })).to.deep.equal([
            `tags the tag name "${"x".repeat(128)}…" (1000000 characters) is not 1 to 128 of letters, digits, spaces and _.:/=+-@.`,
        ]);
        let problems: string[] = [];
        try {
            parseStackConfig({ "drs-cross-account-kms:target": base.target, [`${long}:tags`]: {} });
        } catch (err) {
            problems = (err as ConfigError).problems;
        }
        expect(problems).to.deep.equal([
            `"${"x".repeat(128)}…" (1000005 characters) is under the namespace "${"x".repeat(128)}…" (1000000 characters), which this program never reads: ` +
                "did you mean drs-cross-account-kms:tags? (pulumi config set --path 'drs-cross-account-kms:tags' ...)",
            "drs-cross-account-kms:stagingAccounts is required: list one entry per staging account and Region ({ accountId, region }).",
        ]);
    });

    it("names a key of quotes, backslashes or control characters as JSON writes it", () => {
        const inKey = (name: string) => problemsOf({ ...base, key: { [name]: 1 } });
        expect(inKey('ke"y')).to.deep.equal([`key["ke\\"y"] is not a known setting. Known: ${keyList}.`]);
        expect(inKey("a\\b")).to.deep.equal([`key["a\\\\b"] is not a known setting. Known: ${keyList}.`]);
        expect(inKey("a\nb")).to.deep.equal([`key["a\\nb"] is not a known setting. Known: ${keyList}.`]);
        expect(inKey("a\tb")).to.deep.equal([`key["a\\tb"] is not a known setting. Known: ${keyList}.`]);
        expect(inKey("")).to.deep.equal([`key[""] is not a known setting. Known: ${keyList}.`]);
        expect(problemsOf({ ...base, "a\nb": 1 })).to.deep.equal([`"a\\nb" is not a setting of this program. Known keys: ${sectionList}.`]);
    });

    it("refuses a key named like an object internal as any unknown key", () => {
        for (const name of ["constructor", "toString", "__proto__"]) {
            expect(problemsOf(withReplication(JSON.parse(`{${JSON.stringify(name)}: 1}`))), name).to.deep.equal([
                `stagingAccounts[0].replication.${name} is not a known setting. Known: ${replicationList}.`,
            ]);
        }
    });

    it("refuses keyUserRoleNames that name one role up to case, as IAM role names are unique regardless of case", () => {
        expect(
            problemsOf({
                ...base,
                target: {
                    ...base.target,
                    keyUserRoleNames: ["DrsAdmin", "Ops", "drsadmin", "arn:aws:iam::111122223333:role/ops/DRSADMIN", "Ops"],
                },
            }),
        ).to.deep.equal([
            'target.keyUserRoleNames[2] "drsadmin" names the same role as target.keyUserRoleNames[0] "DrsAdmin": IAM role names are unique regardless of case (DrsAdmin and drsadmin cannot both exist). List the role once, spelt as IAM has it.',
            'target.keyUserRoleNames[3] "arn:aws:iam::111122223333:role/ops/DRSADMIN" names the same role as target.keyUserRoleNames[0] "DrsAdmin": IAM role names are unique regardless of case (DrsAdmin and DRSADMIN cannot both exist). List the role once, spelt as IAM has it.',
            'target.keyUserRoleNames[4] "Ops" names the same role as target.keyUserRoleNames[1] "Ops". List the role once.',
        ]);
    });

    it("refuses an empty tag name in every tags setting", () => {
        expect(problemsOf({ ...base, tags: { "": "x" } })).to.deep.equal([
            'tags the tag name "" is not 1 to 128 of letters, digits, spaces and _.:/=+-@.',
        ]);
        expect(problemsOf(withReplication({ stagingAreaTags: { "": "x" } }))).to.deep.equal([
            'stagingAccounts[0].replication.stagingAreaTags the tag name "" is not 1 to 128 of letters, digits, spaces and _.:/=+-@.',
        ]);
    });

    it("keeps tags named like object internals, in objects without a prototype, and refuses __proto__, which the Pulumi SDK drops", () => {
        const internals = { constructor: "a", toString: "b", hasOwnProperty: "c", valueOf: "d" };
        const tags = JSON.parse(JSON.stringify(internals));
        const { settings } = parseConfig(withReplication({ stagingAreaTags: tags }));
        const read = { ...parseConfig({ ...base, tags }).settings.tags };
        expect(read).to.deep.equal(internals);
        expect({ ...settings.stagingAccounts[0].replication!.stagingAreaTags }).to.deep.equal(internals);
        expect(Object.getPrototypeOf(settings.tags)).to.equal(null);
        expect(Object.getPrototypeOf(settings.stagingAccounts[0].replication!.stagingAreaTags)).to.equal(null);
        const proto = JSON.parse('{"__proto__": "x", "Owner": "me"}');
        const why =
            'the tag name "__proto__" cannot reach AWS: the Pulumi SDK for Node.js drops an input key of that name. Rename the tag.';
        expect(problemsOf({ ...base, tags: proto })).to.deep.equal([`tags ${why}`]);
        expect(problemsOf(withReplication({ stagingAreaTags: proto }))).to.deep.equal([
            `stagingAccounts[0].replication.stagingAreaTags ${why}`,
        ]);
    });

    it("refuses a tag without a value (YAML's null), saying how to write an empty one", () => {
        expect(problemsOf({ ...base, tags: { Owner: null } })).to.deep.equal([
            'tags the tag "Owner" has no value (YAML reads an empty value, null or ~ as none): write "" for an empty value.',
        ]);
    });

    describe("read from a stack file", () => {
        const fromFile = (stackYaml: string) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-config-"));
            fs.copyFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(path.join(dir, "Pulumi.s.yaml"), stackYaml);
            return readStackConfigFiles(readProjectFile(dir), "s").config;
        };
        const stack = (tags: string) =>
            "config:\n" +
            '  drs-cross-account-kms:target:\n    accountId: "111122223333"\n' +
            '  drs-cross-account-kms:stagingAccounts:\n    - accountId: "444455556666"\n      region: us-east-1\n' +
            `  drs-cross-account-kms:tags:\n${tags}`;

        it("takes dates, numbers and booleans as tag values as the text the Pulumi CLI passes", () => {
            const config = fromFile(
                stack("    Since: 2024-01-01\n    At: 2024-01-01T10:00:00Z\n    CostCenter: 1234\n    Critical: true\n"),
            );
            expect({ ...parseStackConfig(config).settings.tags }).to.deep.equal({
                Since: "2024-01-01",
                At: "2024-01-01T10:00:00Z",
                CostCenter: "1234",
                Critical: "true",
            });
        });

        it("keeps YAML merge keys, and keys named like object internals", () => {
            const config = fromFile("base: &base\n  Team: dr\n" + stack("    <<: *base\n    toString: t\n    constructor: c\n"));
            expect({ ...parseStackConfig(config).settings.tags }).to.deep.equal({ Team: "dr", toString: "t", constructor: "c" });
            const proto = fromFile(stack("    __proto__: x\n"));
            expect(() => parseStackConfig(proto)).to.throw(
                ConfigError,
                'drs-cross-account-kms:tags the tag name "__proto__" cannot reach AWS',
            );
        });
    });

    it("does not judge a secret of any kind offline, and the rules and warnings do not read it as true or false", () => {
        const secret = secretPlaceholder;
        const { settings, warnings } = parseConfig({
            ...valid,
            alerts: { enabled: secret },
            key: {
                protect: secret,
                enableKeyRotation: secret,
                retainOnDelete: secret,
                multiRegion: secret,
                primaryRegion: "eu-west-1",
                deletionWindowInDays: secret,
            },
            tags: { Owner: secret },
            stagingAccounts: [
                {
                    ...entry,
                    importKeyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
                    replication: { ...entry.replication, createPublicIp: secret, retainOnDelete: secret, stagingAreaTags: secret },
                },
            ],
        });
        expect([
            settings.alerts.enabled,
            settings.key.protect,
            settings.key.multiRegion,
            settings.key.deletionWindowInDays,
            settings.stagingAccounts[0].replication!.createPublicIp,
        ]).to.deep.equal(Array(5).fill("[secret]"));
        expect({ ...settings.tags }).to.deep.equal({ Owner: "[secret]" });
        // A secret mapping of tags stands as one tag of the placeholder, as the plan shows it.
        expect({ ...settings.stagingAccounts[0].replication!.stagingAreaTags }).to.deep.equal({ "[secret]": "[secret]" });
        // No warning that depends on a secret: rotation, protection, retention, alerts, primaryRegion; the adopted key's says so.
        expect(warnings).to.deep.equal([
            "stagingAccounts[0] (1234abcd-12ab-34cd-56ef-1234567890ab in 444455556666/us-east-1) adopts an existing key: the program replaces the key policy " +
                "with its own (`pulumi preview` shows the difference), enables a disabled key, sets the description to key.description and rotation " +
                "to key.enableKeyRotation (a multi-Region replica's follows its primary), and sets the tags to the program's: the default tags " +
                "(ManagedBy, Project and `tags`) and the key's own (Purpose, TargetAccount); any other tag is removed. It adopts an existing alias " +
                "of key.alias's name. Key spec, usage and multi-Region are taken from the key. An adopted key is never deleted by the program unless " +
                "key.retainOnDelete (a secret here) is false. Importing a key and updating it in one deployment needs Pulumi CLI 3.175.0 or later " +
                '(pulumi/pulumi#19339 and #19750); older CLIs stop at preview with "inputs to import do not match the existing resource".',
        ]);
        // Under the engine, secrets arrive decrypted and are judged as any value.
        expect(problemsOf({ ...valid, alerts: { enabled: "yes" } })).to.deep.equal(['alerts.enabled must be true or false, not "yes".']);
    });

    it("refuses, offline, a secret the plan is built on (deploy, key.targetAccess) and a secret price", () => {
        const why = "is a secret, which the offline tools cannot decrypt, and the plan is built on it: set it in plain text.";
        expect(problemsOf({ ...valid, deploy: secretPlaceholder, key: { targetAccess: secretPlaceholder } })).to.deep.equal([
            `deploy ${why}`,
            `key.targetAccess ${why}`,
        ]);
        expect(problemsOf({ ...valid, pricing: { kms: { keyMonth: secretPlaceholder }, drsServerHour: secretPlaceholder } })).to.deep.equal(
            [
                "pricing.kms.keyMonth is a secret, but only the offline tools read prices and they cannot decrypt it: write the figure in plain text.",
                "pricing.drsServerHour is a secret, but only the offline tools read prices and they cannot decrypt it: write the figure in plain text.",
            ],
        );
    });
});
