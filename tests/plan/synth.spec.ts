import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatPlanText, sentence } from "../../plan/text";
import { SynthError, synthesize } from "../../plan/synth";
import { spawnCli } from "../support/mocks";
import { SynthResult } from "../../plan/plan";
import { planDocument } from "../../plan/document";

const root = path.join(__dirname, "..", "..");
const stagingRef = "organization/drs-cross-account-kms/staging";

const cli = spawnCli;

/** A project folder with the repository's Pulumi.yaml and the given stack files. */
function project(stacks: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-synth-"));
    fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [stack, text] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

async function synthError(stack: string, projectDir: string): Promise<string> {
    try {
        await synthesize(stack, { projectDir });
    } catch (err) {
        expect(err).to.be.instanceOf(SynthError);
        return (err as Error).message;
    }
    throw new Error("expected a SynthError");
}

describe("offline plan (synth)", () => {
    let target: SynthResult;

    before(async () => {
        target = await synthesize("target");
    });

    it("returns project, stack, resources and outputs", () => {
        expect(Object.keys(target.plan)).to.deep.equal(["project", "stack", "secretConfigKeys", "resources", "outputs"]);
        expect(target.plan.secretConfigKeys).to.deep.equal([]);
        expect(target.plan.project).to.equal("drs-cross-account-kms");
        expect(target.plan.stack).to.equal("target");
        for (const r of target.plan.resources) {
            expect(r.urn.startsWith("urn:pulumi:target::drs-cross-account-kms::"), r.urn).to.equal(true);
            expect(r).to.include.keys("urn", "type", "name", "inputs", "state");
        }
        expect(target.plan.resources.map((r) => r.type).sort()).to.deep.equal([
            "aws:iam/policy:Policy",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "drs-cross-account-kms:index:DrsTargetKeyAccess",
            "pulumi:providers:aws",
            "pulumi:pulumi:StackReference",
        ]);
    });

    it("names each resource's provider by URN, and shows provider inputs as the program passed them", () => {
        const providers = target.plan.resources.filter((r) => r.type === "pulumi:providers:aws");
        expect(providers.map((p) => p.inputs.allowedAccountIds)).to.deep.equal([["111122223333"]]);
        const policy = target.plan.resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        expect(policy.provider).to.equal(providers[0].urn);
    });

    it("answers with realistic ARNs derived from each resource's account and Region", () => {
        const staging = target.references[stagingRef].plan;
        const key = staging.resources.find((r) => r.type === "aws:kms/key:Key")!;
        expect(key.state.arn).to.match(
            /^arn:aws:kms:us-east-1:444455556666:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        );
        const role = staging.resources.find((r) => r.type === "aws:iam/role:Role")!;
        expect(role.state.arn).to.equal("arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333");
        expect(role.state.uniqueId).to.match(/^AROA[0-9A-F]{17}$/);
        const template = staging.resources.find((r) => r.type.startsWith("aws:drs/"))!;
        expect(template.state.arn).to.match(/^arn:aws:drs:us-east-1:444455556666:replication-configuration-template\/rct-[0-9a-f]{17}$/);
        const policy = target.plan.resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        expect(policy.state.arn).to.equal("arn:aws:iam::111122223333:policy/DrsCrossAccountKmsKeyUse");
    });

    it("feeds a StackReference from the referenced stack's own plan", () => {
        expect(Object.keys(target.references)).to.deep.equal([stagingRef]);
        const staging = target.references[stagingRef].plan;
        const keyArn = staging.resources.find((r) => r.type === "aws:kms/key:Key")!.state.arn;
        const policy = target.plan.resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        expect(JSON.parse(policy.inputs.policy as string).Statement[0].Resource).to.deep.equal([keyArn]);
        expect(target.plan.outputs.targetKeyUsePolicyArns).to.deep.equal(["arn:aws:iam::111122223333:policy/DrsCrossAccountKmsKeyUse"]);
        expect((staging.outputs.stagingKeys as { keyArn: string }[])[0].keyArn).to.equal(keyArn);
    });

    it("is deterministic", async () => {
        const again = await synthesize("target");
        expect(JSON.stringify(again.plan)).to.equal(JSON.stringify(target.plan));
    });

    it("says clearly when a referenced stack has no stack file, or references form a cycle", async () => {
        const targetYaml = (ref: string) =>
            `config:\n  drs-cross-account-kms:deploy: target\n  drs-cross-account-kms:target:\n    accountId: "111122223333"\n  drs-cross-account-kms:stagingStacks: [${ref}]\n`;
        expect(await synthError("t", project({ t: targetYaml("organization/drs-cross-account-kms/nope") }))).to.equal(
            "Stack t references organization/drs-cross-account-kms/nope, but the project has no Pulumi.nope.yaml to plan it from. Add that stack file, or correct drs-cross-account-kms:stagingStacks.",
        );
        expect(await synthError("t", project({ t: targetYaml("organization/drs-cross-account-kms/t") }))).to.match(
            /references it back: t -> t/,
        );
    });

    it("turns invalid config into a message naming every problem", async () => {
        const message = await synthError("bad", project({ bad: 'config:\n  drs-cross-account-kms:target:\n    accountId: "1"\n' }));
        expect(message).to.match(/^Stack bad: Invalid stack config \(2 problems\):\n  - drs-cross-account-kms:target.accountId "1"/);
    });
});

describe("synth and access-report commands", () => {
    it("prints the plan as JSON on stdout, then its monthly cost and quota use", async () => {
        const run = cli("synth", "--stack", "target");
        expect(run.status).to.equal(0);
        const result = await synthesize("target");
        const doc = JSON.parse(run.stdout);
        expect(doc).to.deep.equal(JSON.parse(JSON.stringify(planDocument(result))));
        const { cost, capacity, ...plan } = doc;
        expect(plan).to.deep.equal(result.plan);
        expect(Object.keys(cost)).to.include.members(["currency", "origin", "sources", "keys", "kms", "free", "notEstimated"]);
        expect(Object.keys(capacity)).to.include.members([
            "quotas",
            "staging",
            "targets",
            "keyPolicies",
            "keyUsePolicies",
            "roles",
            "findings",
        ]);
    });

    it("exits non-zero on invalid config, with the errors on stderr and nothing on stdout", () => {
        const dir = project({});
        const file = path.join(dir, "bad.yaml");
        fs.writeFileSync(file, "config:\n  drs-cross-account-kms:deploy: everything\n");
        const run = cli("synth", "--stack", "bad", "--config-file", file);
        expect(run.status).to.equal(2);
        expect(run.stdout).to.equal("");
        expect(run.stderr).to.match(
            /^error: Stack bad: Invalid stack config \(3 problems\):\n  - drs-cross-account-kms:deploy must be one of all, staging, target/,
        );
    });

    it("prints a summary in words and the access report with --format text, and policy files with --policies-dir", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-policies-"));
        const run = cli("synth", "--stack", "target", "--format", "text", "--policies-dir", dir);
        expect(run.status).to.equal(0);
        expect(run.stdout).to.include("Account 111122223333, global (IAM)");
        expect(run.stdout).to.include(
            "AllowTargetAccountReEncryptThroughEc2: account 111122223333 (its IAM principals that have permission) may kms:ReEncrypt* on this key, only as account 111122223333, only through ec2.us-east-1.amazonaws.com.",
        );
        expect(run.stdout).to.match(/Access report: \d+ checks, 0 mismatches\./);
        expect(run.stdout).to.include("Monthly cost (AWS list prices, USD;");
        expect(run.stdout).to.include("Capacity and quotas (the table and its sources: plan/quotas.ts):");
        expect(fs.readdirSync(dir).sort()).to.deep.equal([
            "drs-444455556666-us-east-1-alerts-topic-key.json",
            "drs-444455556666-us-east-1-alerts-topic-policy.json",
            "drs-444455556666-us-east-1-key-key.json",
            "drs-staging-role-444455556666-role.json",
            "drs-target-111122223333-policy.json",
        ]);
        expect(run.stderr).to.equal(`wrote 5 policy documents to ${dir}, one <resource name>.json each\n`);
    });

    it("access-report exits 0 on the shipped stacks", () => {
        const run = cli("access-report", "--stack", "target");
        expect(run.status).to.equal(0);
        expect(run.stdout).to.match(/Access report: 41 checks, 0 mismatches\.\n$/);
    });
});

describe("the plan in words (--format text)", () => {
    it("puts each resource under its real Region, the aws-native launch template under its provider's", async () => {
        const dir = project({
            all: [
                "config:",
                '  pulumi:disable-default-providers: ["*"]',
                "  drs-cross-account-kms:target:",
                '    accountId: "111122223333"',
                "    keyUserRoleNames: [DrsRecoveryOperator]",
                "    launch:",
                "      - region: eu-west-1",
                "        copyTags: true",
                "  drs-cross-account-kms:stagingAccounts:",
                '    - accountId: "444455556666"',
                "      region: eu-west-1",
                "",
            ].join("\n"),
        });
        const result = await synthesize("all", { projectDir: dir });
        const text = formatPlanText(result);
        const section = (heading: string) => text.split("\n\n").find((s) => s.startsWith(heading)) ?? "";
        expect(section("Account 111122223333, eu-west-1")).to.match(
            /^ {2}drs-cross-account-kms:index:DrsLaunchSettings \S+\n {4}aws-native:drs:LaunchConfigurationTemplate /m,
        );
        expect(text).not.to.include("global (IAM)\n    aws-native");
        expect(text).not.to.include("Region unknown");
    });

    it("shows the tree by component, like pulumi preview: the component, then its children indented", async () => {
        const text = formatPlanText(await synthesize("staging"));
        expect(text).to.include(
            [
                "Account 444455556666, global (IAM)",
                "  drs-cross-account-kms:index:DrsStagingRole drs-staging-role-444455556666",
                "    aws:iam/role:Role drs-staging-role-444455556666-role  arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333",
            ].join("\n"),
        );
        expect(text).to.match(/\n {2}drs-cross-account-kms:index:DrsCrossAccountKey \S+\n {4}aws:kms\/alias:Alias /);
    });

    it("says each statement plainly, with the right nouns for each kind of policy", async () => {
        const text = formatPlanText(await synthesize("target"));
        for (const phrase of [
            "AllowKeyLossRulesToPublish: the service events.amazonaws.com may publish to 1 topic, only when aws:SourceAccount is 444455556666",
            "DescribeDrsKeys: the roles it is attached to may kms:DescribeKey on 1 key, with no condition.",
            "may kms:DescribeKey on this key, only as account 111122223333.",
            "AllowDrsOnBehalfOfTargetAccount: the service drs.amazonaws.com may assume this role (sts:AssumeRole, sts:SetSourceIdentity), only when sts:SourceIdentity is 111122223333",
            "only when aws:SourceArn matches arn:aws:drs:*:*:source-server/*",
        ])
            expect(text).to.include(phrase);
        expect(text).not.to.match(/key\(s\)|arnequals/);
    });

    it("names the nouns of a statement's resources: keys, topics, roles, and every resource", () => {
        const statement = (Resource: string | string[]) => ({ Sid: "S", Effect: "Allow" as const, Action: "kms:Decrypt", Resource });
        expect(sentence(statement(["arn:aws:kms:us-east-1:1:key/a", "arn:aws:kms:us-east-1:1:key/b"]))).to.equal(
            "S: the roles it is attached to may kms:Decrypt on 2 keys, with no condition.",
        );
        expect(sentence(statement("*"))).to.equal("S: the roles it is attached to may kms:Decrypt on every resource, with no condition.");
        expect(sentence(statement("*"), "key")).to.equal("S: the roles it is attached to may kms:Decrypt on this key, with no condition.");
        expect(sentence(statement("arn:aws:iam::1:role/R"))).to.equal(
            "S: the roles it is attached to may kms:Decrypt on 1 role, with no condition.",
        );
    });
});
