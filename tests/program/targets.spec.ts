// Several target accounts per staging account: a drill account beside the recovery account.
import {
    DescribeRecoverySnapshotsCommand,
    DescribeReplicationConfigurationTemplatesCommand,
    DescribeSourceServersCommand,
    DrsClient,
    GetReplicationConfigurationCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { EC2Client, GetEbsDefaultKmsKeyIdCommand, GetEbsEncryptionByDefaultCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { DecryptCommand, DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { ConfigError, RawConfig, parseConfig } from "../../config";
import {
    buildKeyPolicy,
    buildStagingRoleTrustPolicy,
    buildTargetKeyUsePolicy,
    maxKeyPolicyTargets,
    keyPolicyBytes,
    limits,
} from "../../components/policies";
import { violations } from "../../policy/rules";
import { accessReport, mismatches } from "../../plan/accessReport";
import { AwsAccess } from "../../ops/aws/access";
import { fleetEntries, fleetProject, fleetRegions } from "../support/fleet";
import { decide } from "../../plan/simulate";
import { synthesize } from "../../plan/synth";
import { verify } from "../../ops/verify";
import { Registration, byType, runProgram } from "../support/mocks";
import { checkStagingStackOutputs } from "../../program/contract";

const recovery = "111122223333";
const drill = "222233334444";
const stagingA = "444455556666";
const stagingB = "555566667777";
const subnet = "subnet-0123456789abcdef0";
const roleArn = (staging: string, target: string) => `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`;

/** A recovery account and a drill account that recovers only us-east-1, from two staging accounts. */
const twoTargets = {
    deploy: "all",
    targets: [
        { accountId: recovery, keyUserRoleNames: ["DrsRecoveryOperator"] },
        { accountId: drill, keyUserRoleNames: ["DrsDrillRunner"], regions: ["us-east-1"] },
    ],
    stagingAccounts: [
        { accountId: stagingA, region: "us-east-1", replication: { stagingAreaSubnetId: subnet } },
        { accountId: stagingA, region: "us-west-2" },
        { accountId: stagingB, region: "us-east-1" },
    ],
};

function problemsOf(raw: RawConfig): string[] {
    try {
        parseConfig(raw);
        return [];
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems.map((p) => p.replace(/^drs-cross-account-kms:/, ""));
    }
}

/** Registrations in URN order, without the mocked state. */
const sortedByUrn = (registrations: Registration[]) =>
    [...registrations].sort((a, b) => a.urn.localeCompare(b.urn)).map((r) => ({ ...r, state: undefined }));

/** An object without some keys. */
const without = (object: Record<string, unknown>, ...keys: string[]) =>
    Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));

describe("several targets: config", () => {
    const base = { stagingAccounts: [{ accountId: stagingA, region: "us-east-1" }] };

    it("reads targets as the list of recovery accounts, and target as a list of one", () => {
        const several = parseConfig({ ...base, targets: [{ accountId: recovery }, { accountId: drill }] }).settings;
        expect(several.targets.map((t) => t.accountId)).to.deep.equal([recovery, drill]);
        expect(several.target.accountId).to.equal(recovery);
        const one = parseConfig({ ...base, target: { accountId: recovery } }).settings;
        expect(one.targets).to.deep.equal([one.target]);
    });

    it("takes exactly one of target and targets, and target only in a target stack", () => {
        expect(problemsOf({ ...base, target: { accountId: recovery }, targets: [{ accountId: drill }] })).to.deep.equal([
            "target and targets are both set: set target for one recovery account, or list every recovery account in targets (and remove target).",
        ]);
        expect(problemsOf(base)[0]).to.match(/^target is required: .*\(or targets, to list several\)/);
        expect(problemsOf({ ...base, targets: [] })).to.deep.equal([
            "targets is empty: list the recovery accounts, or set target instead.",
        ]);
        expect(problemsOf({ deploy: "target", targets: [{ accountId: recovery }], stagingStacks: ["staging"] })).to.deep.equal([
            "targets is for staging-side stacks: a target stack (deploy: target) deploys one recovery account. Set target to it instead.",
        ]);
    });

    it("holds every target rule for each target, naming its item", () => {
        const found = problemsOf({
            stagingAccounts: [{ accountId: stagingA, region: "us-east-1" }],
            targets: [
                { accountId: recovery },
                {
                    accountId: drill,
                    roleArn: `arn:aws:iam::${recovery}:role/Deploy`,
                    keyUserRoleNames: [`arn:aws:iam::${recovery}:role/DrsDrillRunner`, "A", "A"],
                    regions: ["us-east-1", "eu-west-1"],
                    launch: [{ region: "ap-south-1" }],
                },
                { accountId: stagingA },
                { accountId: recovery },
            ],
        });
        expect(found).to.include.members([
            `stagingAccounts[0].accountId is the account of targets[2], ${stagingA}. A staging account replicates for a different (target) account; use another account.`,
            `targets[1].roleArn is a role in account ${recovery}, but this entry's account is ${drill}. The provider assumes a role in the account it deploys to.`,
            `targets[1].keyUserRoleNames[0] "arn:aws:iam::${recovery}:role/DrsDrillRunner" is in account ${recovery}, not the target account ${drill}.`,
            'targets[1].keyUserRoleNames[2] "A" names the same role as targets[1].keyUserRoleNames[1] "A". List the role once.',
            `targets (accountId) lists ${recovery} more than once.`,
        ]);
        expect(found.some((p) => p.startsWith('targets[1].regions[1] "eu-west-1" has no staging key.'))).to.equal(true);
        expect(
            found.some((p) => p.startsWith('targets[1].launch[0].region "ap-south-1" is not a recovery Region (us-east-1, eu-west-1)')),
        ).to.equal(true);
    });

    it("refuses a key no target recovers, and keeps a partition per stack", () => {
        expect(
            problemsOf({
                stagingAccounts: [
                    { accountId: stagingA, region: "us-east-1" },
                    { accountId: stagingA, region: "us-west-2" },
                ],
                targets: [
                    { accountId: recovery, regions: ["us-east-1"] },
                    { accountId: drill, regions: ["us-east-1"] },
                ],
            }),
        ).to.deep.equal([
            'stagingAccounts[1].region "us-west-2" is not in the regions of any target: no target would use a key it never recovers with. Add us-west-2 to a target\'s regions or remove this entry.',
        ]);
        const crossed = problemsOf({
            stagingAccounts: [{ accountId: stagingA, region: "us-east-1" }],
            targets: [{ accountId: recovery }, { accountId: drill, regions: ["us-east-1", "cn-north-1"] }],
        });
        expect(crossed.some((p) => p.startsWith('targets[1].regions[1] "cn-north-1" is in partition aws-cn'))).to.equal(true);
    });

    it("refuses Identity Center with targets whose key-use policies split differently: a permission set names the same policies everywhere", () => {
        const identityCenter = {
            accountId: "999900001111",
            region: "us-east-1",
            instanceArn: "arn:aws:sso:::instance/ssoins-1234567890abcdef",
            permissionSetArns: ["arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef"],
        };
        const stagingAccounts = fleetEntries(120);
        const config = (drillRegions: string[]) => ({
            stagingAccounts,
            identityCenter,
            targets: [{ accountId: recovery }, { accountId: drill, regions: drillRegions }],
        });
        const [problem] = problemsOf(config(["us-east-1"]));
        expect(problem).to.match(
            /^identityCenter: the targets' key-use policies split into \d+, \d+ policies, but a permission set names the same policies/,
        );
        expect(problemsOf(config([...fleetRegions]))).to.deep.equal([]);
    });

    it("refuses more targets than one key serves, with the numbers", () => {
        const targets = (count: number) => Array.from({ length: count }, (_, i) => ({ accountId: String(300000000000 + i) }));
        // A tag value holds 19 account IDs; the key policy more with documented access.
        expect(problemsOf({ ...base, targets: targets(19) })).to.deep.equal([]);
        expect(problemsOf({ ...base, targets: targets(20) })).to.deep.equal([
            "stagingAccounts[0] cannot serve all 20 targets with one key: The TargetAccount tag naming 20 targets is 259 characters, over AWS's 256 for a tag value: " +
                "one key serves at most 19 targets. Give some targets regions without this one, or serve them from other staging accounts.",
        ]);
        expect(problemsOf({ ...base, targets: targets(12), key: { targetAccess: "ebs-shared-snapshots" } })).to.deep.equal([]);
    });
});

describe("several targets: key policy", () => {
    const input = {
        stagingAccountId: stagingA,
        region: "us-east-1",
        targetAccess: "documented" as const,
        targetAccountId: recovery,
        stagingRoleArn: roleArn(stagingA, recovery),
        stagingRoleUniqueId: "AROAAAAAAAAAAAAAAAAA1",
    };
    const withDrill = {
        ...input,
        additionalTargets: [
            { targetAccountId: drill, stagingRoleArn: roleArn(stagingA, drill), stagingRoleUniqueId: "AROAAAAAAAAAAAAAAAAA2" },
        ],
    };

    it("is the one-target policy when there is no further target", () => {
        expect(buildKeyPolicy({ ...input, additionalTargets: [] })).to.deep.equal(buildKeyPolicy(input));
    });

    it("has a set of target statements per target, each as that target only, and both staging role IDs in its Id", () => {
        const policy = buildKeyPolicy(withDrill);
        expect(policy.Id).to.equal("drs-cross-account-key-policy-AROAAAAAAAAAAAAAAAAA1-AROAAAAAAAAAAAAAAAAA2");
        const perTarget = policy.Statement.slice(4).map((s) => [
            s.Sid,
            (s.Principal as { AWS: string }).AWS,
            s.Condition?.StringEquals["kms:CallerAccount"],
        ]);
        expect(perTarget).to.deep.equal([
            [`AllowDrsStagingAccountRoleReEncryptThroughEc2For${recovery}`, roleArn(stagingA, recovery), stagingA],
            [`AllowTargetAccountReEncryptThroughEc2For${recovery}`, `arn:aws:iam::${recovery}:root`, recovery],
            [`AllowTargetAccountDescribeKeyFor${recovery}`, `arn:aws:iam::${recovery}:root`, recovery],
            [`AllowDrsStagingAccountRoleReEncryptThroughEc2For${drill}`, roleArn(stagingA, drill), stagingA],
            [`AllowTargetAccountReEncryptThroughEc2For${drill}`, `arn:aws:iam::${drill}:root`, drill],
            [`AllowTargetAccountDescribeKeyFor${drill}`, `arn:aws:iam::${drill}:root`, drill],
        ]);
        // The staging statements are the one-target policy's, unchanged.
        expect(policy.Statement.slice(0, 4)).to.deep.equal(buildKeyPolicy(input).Statement.slice(0, 4));
    });

    it("refuses a target twice, or a target that is the staging account, naming which", () => {
        const again = {
            ...withDrill,
            additionalTargets: [...withDrill.additionalTargets, { targetAccountId: recovery, stagingRoleArn: roleArn(stagingA, recovery) }],
        };
        expect(() => buildKeyPolicy(again)).to.throw(`target ${recovery} is listed more than once`);
        const itself = { ...input, additionalTargets: [{ targetAccountId: stagingA, stagingRoleArn: roleArn(stagingA, stagingA) }] };
        expect(() => buildKeyPolicy(itself)).to.throw("target 2: the staging and target accounts must differ");
    });

    it("holds as many targets as fit in 32,768 bytes in the longest partition, and refuses one more with the numbers", () => {
        const gov = (arn: string) => arn.replace("arn:aws:", "arn:aws-us-gov:");
        const inGov = { ...input, region: "us-gov-west-1", stagingRoleArn: gov(input.stagingRoleArn) };
        const targets = (count: number) =>
            Array.from({ length: count - 1 }, (_, i) => {
                const account = String(300000000000 + i);
                return {
                    targetAccountId: account,
                    stagingRoleArn: gov(roleArn(stagingA, account)),
                    stagingRoleUniqueId: `AROA${"B".repeat(17)}`,
                };
            });
        for (const targetAccess of ["documented", "ebs-shared-snapshots"] as const) {
            const most = maxKeyPolicyTargets(targetAccess);
            const fits = buildKeyPolicy({ ...inGov, targetAccess, additionalTargets: targets(most) });
            expect(keyPolicyBytes(fits)).to.be.at.most(limits.keyPolicyBytes);
            expect(() => buildKeyPolicy({ ...inGov, targetAccess, additionalTargets: targets(most + 1) })).to.throw(
                new RegExp(
                    `with ${most + 1} targets it is \\d+ bytes, over KMS's 32768-byte key policy limit\\. One key serves at most ${most} targets`,
                ),
            );
        }
        expect([maxKeyPolicyTargets("documented"), maxKeyPolicyTargets("ebs-shared-snapshots")]).to.deep.equal([34, 20]);
    });

    it("lets each target use the key only as itself: never through the other target's statements", async () => {
        const keyArn = `arn:aws:kms:us-east-1:${stagingA}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        const policy = buildKeyPolicy(withDrill);
        const onlyRecovery = buildKeyPolicy(input);
        const drillUser = {
            principal: `arn:aws:iam::${drill}:role/DrsDrillRunner`,
            action: "kms:ReEncryptFrom",
            resource: keyArn,
            resourceAccount: stagingA,
            context: { "kms:CallerAccount": drill, "kms:ViaService": "ec2.us-east-1.amazonaws.com" },
            identityPolicies: [buildTargetKeyUsePolicy({ keyArns: [keyArn], targetAccess: "documented" })],
        };
        expect(await decide({ ...drillUser, resourcePolicy: policy })).to.equal("Allowed");
        // The recovery account's statements alone: the drill account's role gets nothing.
        expect(await decide({ ...drillUser, resourcePolicy: onlyRecovery })).not.to.equal("Allowed");
        // And its call claiming to come from the recovery account matches no statement of its own.
        expect(
            await decide({ ...drillUser, principal: `arn:aws:iam::${recovery}:role/DrsDrillRunner`, resourcePolicy: policy }),
        ).not.to.equal("Allowed");
    });
});

describe("several targets: program", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        run = await runProgram(twoTargets);
    });

    it("creates a staging role per target in each staging account that a target recovers from", () => {
        // The staging roles; a key outside us-east-1 also has its alerts' forwarding role.
        const roles = byType(run.mocks, "aws:iam/role:Role")
            .filter((r) => r.name.startsWith("drs-staging-role-"))
            .map((r) => [r.account, r.inputs.name]);
        expect(roles).to.have.deep.members([
            [stagingA, `DRSStagingAccountRole_${recovery}`],
            [stagingA, `DRSStagingAccountRole_${drill}`],
            [stagingB, `DRSStagingAccountRole_${recovery}`],
            [stagingB, `DRSStagingAccountRole_${drill}`],
        ]);
        // The first target's role keeps its one-target name as an alias: adding a target moves nothing.
        const components = byType(run.mocks, "drs-cross-account-kms:index:DrsStagingRole").map((c) => [c.name, c.aliases ?? []]);
        expect(components).to.have.deep.members([
            [`drs-staging-role-${stagingA}-${recovery}`, [`drs-staging-role-${stagingA}`]],
            [`drs-staging-role-${stagingA}-${drill}`, []],
            [`drs-staging-role-${stagingB}-${recovery}`, [`drs-staging-role-${stagingB}`]],
            [`drs-staging-role-${stagingB}-${drill}`, []],
        ]);
    });

    it("names in each key policy and tag the targets that recover its Region", () => {
        const keys = byType(run.mocks, "aws:kms/key:Key").filter((k) => !k.name.endsWith("-topic-key"));
        const served = keys.map((k) => {
            const policy = JSON.parse(k.inputs.policy);
            const callers = new Set(policy.Statement.map((s: any) => s.Condition?.StringEquals?.["kms:CallerAccount"]).filter(Boolean));
            return [k.name, k.inputs.tags.TargetAccount, [...callers].sort()];
        });
        expect(served).to.have.deep.members([
            [`drs-${stagingA}-us-east-1-key-key`, `${recovery} ${drill}`, [recovery, drill, stagingA].sort()],
            [`drs-${stagingA}-us-west-2-key-key`, recovery, [recovery, stagingA].sort()],
            [`drs-${stagingB}-us-east-1-key-key`, `${recovery} ${drill}`, [recovery, drill, stagingB].sort()],
        ]);
    });

    it("builds each target's key-use policy with its own provider, for the keys that serve it", () => {
        const policies = byType(run.mocks, "aws:iam/policy:Policy").map((p) => {
            const resources = JSON.parse(p.inputs.policy).Statement.flatMap((s: any) => [s.Resource].flat());
            return [p.account, p.provider, [...new Set(resources.map((arn: string) => arn.split(":").slice(3, 5).join("/")))].sort()];
        });
        expect(policies).to.have.deep.members([
            [recovery, `aws-target-${recovery}`, [`us-east-1/${stagingA}`, `us-east-1/${stagingB}`, `us-west-2/${stagingA}`]],
            [drill, `aws-target-${drill}`, [`us-east-1/${stagingA}`, `us-east-1/${stagingB}`]],
        ]);
        const attached = byType(run.mocks, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            .filter((a) => a.account === recovery || a.account === drill)
            .map((a) => [a.account, a.inputs.role]);
        expect(attached).to.have.deep.members([
            [recovery, "DrsRecoveryOperator"],
            [drill, "DrsDrillRunner"],
        ]);
    });

    it("adds the targets to the outputs, and each key's staging role per target", () => {
        const { outputs } = run;
        expect(outputs.targetAccountId).to.equal(recovery);
        expect(outputs.targetAccountIds).to.deep.equal([recovery, drill]);
        expect((outputs.targetKeyAccess as any[]).map((t) => [t.accountId, t.roleNames])).to.deep.equal([
            [recovery, ["DrsRecoveryOperator"]],
            [drill, ["DrsDrillRunner"]],
        ]);
        const east = (outputs.stagingKeys as any[]).find((k) => k.accountId === stagingA && k.region === "us-east-1");
        expect(east.targetAccountIds).to.deep.equal([recovery, drill]);
        expect(east.stagingRoleArn).to.equal(roleArn(stagingA, recovery));
        expect(east.stagingRoleArns).to.deep.equal({ [recovery]: roleArn(stagingA, recovery), [drill]: roleArn(stagingA, drill) });
    });

    it("plans target exactly as targets with that one target: the same resources, policies and outputs", async () => {
        const rest = without(twoTargets, "targets");
        const one = await runProgram({ ...rest, target: twoTargets.targets[0] });
        const listed = await runProgram({ ...rest, targets: [twoTargets.targets[0]] });
        expect(sortedByUrn(listed.mocks.registrations)).to.deep.equal(sortedByUrn(one.mocks.registrations));
        expect(listed.outputs).to.deep.equal(one.outputs);
        expect(one.outputs).not.to.have.any.keys("targetAccountIds", "targetKeyAccess");
        // The one target's staging role keeps its name, with the several-target name as an alias.
        expect(byType(one.mocks, "drs-cross-account-kms:index:DrsStagingRole").map((c) => [c.name, c.aliases])).to.deep.include([
            `drs-staging-role-${stagingA}`,
            [`drs-staging-role-${stagingA}-${recovery}`],
        ]);
    });

    it("lets a target stack read a staging stack that serves it among others, with its own staging role", async () => {
        const staging = without(run.outputs, "targetKeyAccess", "targetKeyUsePolicyArns", "targetKeyUserRoleNames");
        const drillStack = await runProgram(
            { deploy: "target", target: { accountId: drill, keyUserRoleNames: ["DrsDrillRunner"] }, stagingStacks: ["staging"] },
            { staging: { ...staging, deploy: "staging" } },
        );
        const keys = drillStack.outputs.stagingKeys as any[];
        expect(keys.map((k) => [k.accountId, k.region, k.stagingRoleArn])).to.deep.equal([
            [stagingA, "us-east-1", roleArn(stagingA, drill)],
            [stagingB, "us-east-1", roleArn(stagingB, drill)],
        ]);
        const other = "999900002222";
        await runProgram({ deploy: "target", target: { accountId: other }, stagingStacks: ["staging"] }, { staging }).then(
            () => expect.fail("a target the staging stack does not serve was accepted"),
            (err: Error) => expect(err.message).to.contain(`was deployed for target accounts "${recovery}", "${drill}", not ${other}`),
        );
    });

    it("checks a staging stack's keys per target: a stack that lists the target but has no key for it is refused", () => {
        const stack = {
            stack: "staging",
            targetAccountId: recovery,
            targetAccountIds: [recovery, drill],
            targetAccess: "documented",
            stagingKeys: [
                {
                    accountId: stagingA,
                    region: "us-west-2",
                    keyId: "k",
                    keyArn: "arn",
                    aliasName: "alias/drs-cross-account-ebs",
                    stagingRoleArn: roleArn(stagingA, recovery),
                    targetAccountIds: [recovery],
                    stagingRoleArns: { [recovery]: roleArn(stagingA, recovery) },
                },
            ],
        };
        const target = parseConfig({ deploy: "target", target: { accountId: drill }, stagingStacks: ["staging"] }).settings.target;
        expect(() => checkStagingStackOutputs([stack], target, "documented")).to.throw(
            `stagingStacks[0] "staging" has no key that serves ${drill}: none is in a Region that target recovers.`,
        );
    });
});

describe("several targets: access report", () => {
    it("finds 0 mismatches for each target, including each target's principals on the other's statements only", async () => {
        const dir = fleetProject(6, {
            targets: [
                { accountId: recovery, keyUserRoleNames: ["DrsRecoveryOperator"] },
                { accountId: drill, keyUserRoleNames: ["DrsDrillRunner"], regions: ["us-east-1", "us-west-2"] },
            ],
            alerts: { enabled: false },
        });
        const plan = await synthesize("fleet", { projectDir: dir });
        const checks = await accessReport(plan);
        expect(mismatches(checks)).to.deep.equal([]);
        const forTarget = (account: string) => checks.filter((c) => c.target === account);
        // Six keys serve the recovery account, four the drill account (not eu-west-1).
        expect(new Set(forTarget(recovery).map((c) => c.key)).size).to.equal(6);
        expect(new Set(forTarget(drill).map((c) => c.key)).size).to.equal(4);
        const denied = forTarget(drill).filter(
            (c) => c.who === "target role DrsDrillRunner of target 222233334444, through the other targets' statements only",
        );
        expect(denied.length).to.be.greaterThan(0);
        expect(denied.every((c) => c.expected === "deny" && c.actual === "deny")).to.equal(true);
        const allowed = forTarget(drill).filter((c) => c.who === `target role DrsDrillRunner of target ${drill}` && c.expected === "allow");
        expect(allowed.map((c) => c.action)).to.include.members(["kms:ReEncryptFrom", "kms:DescribeKey"]);
        // And the policy pack finds nothing: each target's statements carry its own conditions.
        const providers = new Map(plan.plan.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.urn, r.inputs]));
        const resources = plan.plan.resources.map((r) => ({
            type: r.type,
            props: r.inputs,
            providerProps: r.provider ? providers.get(r.provider) : undefined,
        }));
        expect(resources.flatMap(violations)).to.deep.equal([]);
    });
});

describe("several targets: verify", () => {
    const region = "us-east-1";
    const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const keyArn = `arn:aws:kms:${region}:${stagingA}:key/${keyId}`;
    const roleIds: Record<string, string> = { [recovery]: "AROARECOVERYROLE00001", [drill]: "AROADRILLROLE00000001" };
    /** The key policy the program deploys for these targets of the staging key. */
    const policyFor = (...targets: string[]) => {
        const [first, ...additionalTargets] = targets.map((t) => ({
            targetAccountId: t,
            stagingRoleArn: roleArn(stagingA, t),
            stagingRoleUniqueId: roleIds[t],
        }));
        return buildKeyPolicy({ ...first, stagingAccountId: stagingA, region, targetAccess: "documented", additionalTargets });
    };
    const twoTargetPolicy = policyFor(recovery, drill);
    const stagingKey = {
        accountId: stagingA,
        region,
        keyId,
        keyArn,
        aliasName: "alias/drs-cross-account-ebs",
        stagingRoleArn: roleArn(stagingA, recovery),
        replicationTemplateId: "rct-0123456789abcdef0",
        targetAccountIds: [recovery, drill],
        stagingRoleArns: { [recovery]: roleArn(stagingA, recovery), [drill]: roleArn(stagingA, drill) },
    };
    const stagingOutputs = {
        targetAccountId: recovery,
        targetAccountIds: [recovery, drill],
        targetAccess: "documented",
        stagingKeys: [stagingKey],
    };
    const settings = parseConfig({
        deploy: "staging",
        targets: [{ accountId: recovery }, { accountId: drill }],
        stagingAccounts: [{ accountId: stagingA, region }],
    }).settings;

    const server: SourceServer = {
        sourceServerID: "s-1",
        dataReplicationInfo: { dataReplicationState: "CONTINUOUS" },
        stagingArea: { status: "NOT_EXTENDED" },
        // Drilled last week in the target: proven.
        lifeCycle: {
            lastLaunch: {
                initiated: { type: "DRILL", apiCallDateTime: new Date(Date.now() - 7 * 86_400_000).toISOString() },
                status: "TERMINATED",
            },
        },
    };
    /** Its latest point in time, 3 minutes ago. */
    const recent = new Date(Date.now() - 3 * 60_000).toISOString();
    /** The same server as each target sees it, extended there. */
    const extendedServer: SourceServer = {
        ...server,
        stagingArea: { status: "EXTENDED", stagingSourceServerArn: `arn:aws:drs:${region}:${stagingA}:source-server/s-1` },
    };

    /** A healthy staging account serving both targets, a server replicating and extended to each; `policy` is the key policy AWS holds. */
    function accounts(policy = twoTargetPolicy) {
        const clients = new Map<string, KMSClient | DrsClient | IAMClient | EC2Client>();
        const kms = new KMSClient({ region });
        mockClient(kms)
            .on(DescribeKeyCommand)
            .resolves({ KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } })
            .on(GetKeyRotationStatusCommand)
            .resolves({ KeyRotationEnabled: true })
            .on(GetKeyPolicyCommand)
            .resolves({ Policy: JSON.stringify(policy) });
        const iam = new IAMClient({ region });
        const iamMock = mockClient(iam);
        for (const target of [recovery, drill]) {
            iamMock.on(GetRoleCommand, { RoleName: `DRSStagingAccountRole_${target}` }).resolves({
                Role: {
                    RoleName: `DRSStagingAccountRole_${target}`,
                    Path: "/service-role/",
                    RoleId: roleIds[target],
                    Arn: roleArn(stagingA, target),
                    CreateDate: new Date(),
                    AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(buildStagingRoleTrustPolicy("aws", target))),
                },
            });
        }
        iamMock.on(GetRoleCommand, { RoleName: "AWSServiceRoleForElasticDisasterRecovery" }).resolves({
            Role: { RoleName: "AWSServiceRoleForElasticDisasterRecovery", Path: "/aws-service-role/drs.amazonaws.com/" } as never,
        });
        const drs = new DrsClient({ region });
        mockClient(drs)
            .on(DescribeReplicationConfigurationTemplatesCommand)
            .resolves({
                items: [
                    {
                        replicationConfigurationTemplateID: stagingKey.replicationTemplateId,
                        ebsEncryption: "CUSTOM",
                        ebsEncryptionKeyArn: keyArn,
                    },
                ],
            })
            .on(DescribeSourceServersCommand)
            .resolves({ items: [server] })
            .on(GetReplicationConfigurationCommand)
            .resolves({ ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn })
            .on(DescribeRecoverySnapshotsCommand)
            .resolves({ items: [{ snapshotID: "pit-1", sourceServerID: "s-1", expectedTimestamp: recent, timestamp: recent }] });
        clients.set(`kms ${stagingA}`, kms).set(`iam ${stagingA}`, iam).set(`drs ${stagingA}`, drs);
        for (const target of [recovery, drill]) {
            const targetKms = new KMSClient({ region });
            mockClient(targetKms)
                .on(DescribeKeyCommand)
                .resolves({ KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } })
                .on(DecryptCommand)
                .rejects(Object.assign(new Error("not authorized to perform: kms:Decrypt"), { name: "AccessDeniedException" }));
            const targetDrs = new DrsClient({ region });
            mockClient(targetDrs)
                .on(DescribeReplicationConfigurationTemplatesCommand)
                .resolves({ items: [] })
                .on(DescribeSourceServersCommand)
                .resolves({ items: [extendedServer] });
            // EBS encryption by default, with a key of the target's own.
            const targetEc2 = new EC2Client({ region });
            mockClient(targetEc2)
                .on(GetEbsEncryptionByDefaultCommand)
                .resolves({ EbsEncryptionByDefault: true })
                .on(GetEbsDefaultKmsKeyIdCommand)
                .resolves({ KmsKeyId: `arn:aws:kms:${region}:${target}:key/9999aaaa-12ab-34cd-56ef-1234567890ab` });
            clients.set(`kms ${target}`, targetKms).set(`drs ${target}`, targetDrs).set(`ec2 ${target}`, targetEc2);
        }
        const asked: string[] = [];
        const client = <T>(service: string, account: string) => {
            asked.push(`${service} ${account}`);
            const found = clients.get(`${service} ${account}`);
            if (!found) throw new Error(`test: no ${service} client for ${account}`);
            return Promise.resolve(found as T);
        };
        const access: AwsAccess = {
            kms: (account) => client("kms", account),
            drs: (account) => client("drs", account),
            drsWriter: () => Promise.reject(new Error("verify never writes")),
            ec2: (account) => client("ec2", account),
            iam: (account) => client("iam", account),
        };
        return { access, asked };
    }

    it("checks each target's staging role and side in a stack of several targets, against the policy naming both", async () => {
        const results = await verify({ settings, outputs: stagingOutputs }, accounts().access);
        expect(results.filter((r) => r.status !== "PASS" && r.status !== "INFO")).to.deep.equal([]);
        const scopes = (check: string) => results.filter((r) => r.check === check).map((r) => r.scope);
        expect(scopes("key-policy")).to.deep.equal([`${stagingA}/${region}`]);
        expect(scopes("staging-role")).to.deep.equal([`${stagingA}/${region} for ${recovery}`, `${stagingA}/${region} for ${drill}`]);
        expect(scopes("target-describe-key")).to.deep.equal([
            `${stagingA}/${region} for ${recovery}`,
            `${stagingA}/${region} for ${drill}`,
        ]);
        expect(scopes("target-drs-initialised")).to.deep.equal([`${recovery}/${region}`, `${drill}/${region}`]);
    });

    it("fails the key policy that lost a target's statements", async () => {
        const results = await verify({ settings, outputs: stagingOutputs }, accounts(policyFor(recovery)).access);
        const keyPolicy = results.find((r) => r.check === "key-policy")!;
        expect(keyPolicy.status).to.equal("FAIL");
        expect(keyPolicy.message).to.contain(`AllowTargetAccountReEncryptThroughEc2For${drill}`);
    });

    it("in a target stack, checks only its own target's side, against the whole key policy", async () => {
        const drillSettings = parseConfig({ deploy: "target", target: { accountId: drill }, stagingStacks: ["staging"] }).settings;
        const drillOutputs = {
            targetAccountId: drill,
            targetAccess: "documented",
            stagingKeys: [{ ...stagingKey, stagingRoleArn: roleArn(stagingA, drill) }],
        };
        const { access, asked } = accounts();
        const results = await verify({ settings: drillSettings, outputs: drillOutputs }, access);
        expect(results.filter((r) => r.status !== "PASS" && r.status !== "INFO")).to.deep.equal([]);
        expect(results.filter((r) => r.check === "staging-role").map((r) => r.message)).to.deep.equal([
            `${roleArn(stagingA, drill)} exists, trusted by DRS for the target account only.`,
        ]);
        expect(asked.filter((a) => a.endsWith(recovery))).to.deep.equal([]);
    });
});
