import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { planKeys } from "../../components/policies";
import { accessReport, mismatches } from "../../plan/accessReport";
import { MockKey, RecordingMocks, Registration, byType, runProgram } from "../support/mocks";

// Adopting existing keys, and multi-Region key families (docs/aws-requirements.md, Multi-Region keys and adopting keys).
const target = "111122223333";
const staging = "444455556666";
const other = "555566667777";
const subnet = "subnet-0123456789abcdef0";
const uuidKey = "1234abcd-12ab-34cd-56ef-1234567890ab";
const mrk = "mrk-0123456789abcdef0123456789abcdef";
const keyType = "aws:kms/key:Key";
const replicaType = "aws:kms/replicaKey:ReplicaKey";
const aliasType = "aws:kms/alias:Alias";

const entry = (region: string, extra: Record<string, unknown> = {}, accountId = staging) => ({
    accountId,
    region,
    replication: { stagingAreaSubnetId: subnet },
    ...extra,
});
const config = (stagingAccounts: Record<string, unknown>[], key: Record<string, unknown> = {}) => ({
    target: { accountId: target, keyUserRoleNames: ["DrsRecoveryOperator"] },
    stagingAccounts,
    key,
});
/** The DRS keys (single-Region, primaries and replicas), without the alert topics' keys. */
const drsKeys = (mocks: RecordingMocks): Registration[] =>
    [...byType(mocks, keyType), ...byType(mocks, replicaType)].filter((k) => !k.name.endsWith("-topic-key"));
const keyIn = (mocks: RecordingMocks, region: string) => drsKeys(mocks).find((k) => k.name === `drs-${staging}-${region}-key-key`)!;
const viaServices = (key: Registration) =>
    [...new Set(JSON.parse(key.inputs.policy).Statement.flatMap((s: any) => s.Condition?.StringEquals?.["kms:ViaService"] ?? []))].sort();

async function failure(raw: Record<string, unknown>, existingKeys: MockKey[]) {
    let mocks: RecordingMocks | undefined;
    try {
        await runProgram(raw, {}, { aws: { existingKeys }, onStart: (m) => (mocks = m) });
    } catch (err) {
        return { error: err as Error, keys: drsKeys(mocks!) };
    }
    throw new Error("the program ran");
}

describe("adopting an existing key (importKeyId)", () => {
    it("imports that key, and only that one, in its Region, keeps it in AWS, and gives it the program's policy", async () => {
        const run = await runProgram(
            config([entry("us-east-1", { importKeyId: uuidKey }), entry("us-west-2")]),
            {},
            {
                aws: { existingKeys: [{ accountId: staging, region: "us-east-1", keyId: uuidKey }] },
            },
        );
        const adopted = keyIn(run.mocks, "us-east-1");
        expect([adopted.importId, adopted.protect, adopted.retainOnDelete]).to.deep.equal([`${uuidKey}@us-east-1`, true, true]);
        expect(keyIn(run.mocks, "us-west-2").importId).to.equal(undefined);
        expect(JSON.parse(adopted.inputs.policy).Statement.map((s: any) => s.Sid)).to.include("AllowTargetAccountReEncryptThroughEc2");
        expect(adopted.inputs.enableKeyRotation).to.equal(true);
        expect(adopted.inputs.tags).to.include({ Purpose: "DRS-Cross-Account", TargetAccount: target });
        // No alias of that name existed: a new one is created, not imported.
        expect(byType(run.mocks, aliasType).map((a) => a.importId)).to.deep.equal([undefined, undefined]);
        expect((run.outputs.stagingKeys as any[])[0]).to.include({
            keyId: uuidKey,
            keyArn: `arn:aws:kms:us-east-1:${staging}:key/${uuidKey}`,
        });
        expect(run.warnings.join("\n")).to.match(
            /stagingAccounts\[0\] \(1234abcd-.* in 444455556666\/us-east-1\) adopts an existing key: the program replaces the key policy/,
        );
    });

    it("adopts the existing alias of the configured name with it (the guide's alias/drs-cross-account-ebs)", async () => {
        const run = await runProgram(
            config([entry("us-east-1", { importKeyId: `arn:aws:kms:us-east-1:${staging}:key/${uuidKey}` })]),
            {},
            {
                aws: { existingKeys: [{ accountId: staging, region: "us-east-1", keyId: uuidKey, alias: "alias/drs-cross-account-ebs" }] },
            },
        );
        const [alias] = byType(run.mocks, aliasType);
        expect([alias.importId, alias.retainOnDelete, alias.inputs.name]).to.deep.equal([
            "alias/drs-cross-account-ebs@us-east-1",
            true,
            "alias/drs-cross-account-ebs",
        ]);
        expect(keyIn(run.mocks, "us-east-1").importId).to.equal(`${uuidKey}@us-east-1`);
    });

    it("says so when the alias pointed at another key, and when the adopted key is disabled", async () => {
        const run = await runProgram(
            config([entry("us-east-1", { importKeyId: uuidKey })]),
            {},
            {
                aws: {
                    existingKeys: [
                        { accountId: staging, region: "us-east-1", keyId: uuidKey, keyState: "Disabled" },
                        {
                            accountId: staging,
                            region: "us-east-1",
                            keyId: "99999999-12ab-34cd-56ef-1234567890ab",
                            alias: "alias/drs-cross-account-ebs",
                        },
                    ],
                },
            },
        );
        const warnings = run.warnings.join("\n");
        expect(warnings).to.include(`arn:aws:kms:us-east-1:${staging}:key/${uuidKey} is Disabled: adopting it enables it`);
        expect(warnings).to.include(
            `alias/drs-cross-account-ebs in ${staging}/us-east-1 points to arn:aws:kms:us-east-1:${staging}:key/99999999-12ab-34cd-56ef-1234567890ab: adopting it with`,
        );
    });

    it("refuses, before any key is registered and all at once, keys that cannot serve DRS", async () => {
        const keys: MockKey[] = [
            { accountId: staging, region: "us-east-1", keyId: uuidKey, keyManager: "AWS" },
            { accountId: staging, region: "us-west-2", keyId: "2234abcd-12ab-34cd-56ef-1234567890ab", keySpec: "RSA_2048" },
            { accountId: staging, region: "eu-west-1", keyId: "3234abcd-12ab-34cd-56ef-1234567890ab", keyState: "PendingDeletion" },
        ];
        const { error, keys: registered } = await failure(
            config([
                entry("us-east-1", { importKeyId: uuidKey }),
                entry("us-west-2", { importKeyId: "2234abcd-12ab-34cd-56ef-1234567890ab" }),
                entry("eu-west-1", { importKeyId: "3234abcd-12ab-34cd-56ef-1234567890ab" }),
                entry("eu-central-1", { importKeyId: "4234abcd-12ab-34cd-56ef-1234567890ab" }),
            ]),
            keys,
        );
        expect(pulumi.RunError.isInstance(error)).to.equal(true);
        const lines = error.message.split("\n").sort();
        expect(lines).to.have.length(4);
        expect(lines[0]).to.match(/^drs-cross-account-kms:stagingAccounts\[0\]\.importKeyId 1234abcd-.* is an AWS managed key/);
        expect(lines[1]).to.match(
            /^drs-cross-account-kms:stagingAccounts\[1\]\.importKeyId 2234abcd-.* is a RSA_2048 ENCRYPT_DECRYPT key: EBS encrypts only with symmetric/,
        );
        expect(lines[2]).to.match(
            /^drs-cross-account-kms:stagingAccounts\[2\]\.importKeyId 3234abcd-.* is PendingDeletion: cancel the deletion first/,
        );
        expect(lines[3]).to.match(
            /^drs-cross-account-kms:stagingAccounts\[3\]\.importKeyId 4234abcd-.* does not exist in 444455556666\/eu-central-1/,
        );
        expect(registered).to.deep.equal([]);
    });

    it("keeps a key in AWS after importKeyId is dropped from the config, and only opts out with key.retainOnDelete: false", async () => {
        const kept = async (raw: Record<string, unknown>) => {
            const run = await runProgram(raw);
            return {
                retain: [keyIn(run.mocks, "us-east-1").retainOnDelete, byType(run.mocks, aliasType)[0].retainOnDelete],
                warnings: run.warnings,
            };
        };
        expect((await kept(config([entry("us-east-1", { importKeyId: uuidKey })]))).retain).to.deep.equal([true, true]);
        expect((await kept(config([entry("us-east-1")]))).retain).to.deep.equal([true, true]);
        const optedOut = await kept(config([entry("us-east-1")], { retainOnDelete: false }));
        expect(optedOut.retain).to.deep.equal([false, false]);
        expect(optedOut.warnings.join("\n")).to.match(
            /key.retainOnDelete is false: a key that leaves the stack .* is scheduled for deletion/,
        );
    });
});

describe("multi-Region keys (key.multiRegion)", () => {
    const regions = ["us-east-1", "us-west-2", "eu-west-1"];

    it("gives each staging account one primary and a replica in each other Region, each with a policy for its own Region", async () => {
        const run = await runProgram(
            config(
                regions.map((r) => entry(r)),
                { multiRegion: true, primaryRegion: "us-east-1" },
            ),
            {},
            {
                aws: { existingKeys: [] },
            },
        );
        const primary = keyIn(run.mocks, "us-east-1");
        expect([primary.type, primary.inputs.multiRegion, primary.state.keyId]).to.deep.include.members([keyType, true]);
        expect(primary.state.keyId).to.match(/^mrk-[0-9a-f]{32}$/);
        for (const region of ["us-west-2", "eu-west-1"]) {
            const replica = keyIn(run.mocks, region);
            expect(replica.type).to.equal(replicaType);
            expect(replica.inputs.primaryKeyArn).to.equal(primary.state.arn);
            expect(replica.state.arn).to.equal(`arn:aws:kms:${region}:${staging}:key/${primary.state.keyId}`);
            expect(viaServices(replica)).to.deep.equal([`ec2.${region}.amazonaws.com`]);
            expect([replica.protect, replica.retainOnDelete]).to.deep.equal([true, true]);
        }
        expect(viaServices(primary)).to.deep.equal(["ec2.us-east-1.amazonaws.com"]);
        // Templates and the target policy use each Region's own ARN.
        const templates = byType(run.mocks, "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate");
        expect(Object.fromEntries(templates.map((t) => [t.inputs.region, t.inputs.ebsEncryptionKeyArn]))).to.deep.equal(
            Object.fromEntries(regions.map((r) => [r, keyIn(run.mocks, r).state.arn])),
        );
        const targetPolicy = JSON.parse(byType(run.mocks, "aws:iam/policy:Policy")[0].inputs.policy);
        expect([...targetPolicy.Statement[0].Resource].sort()).to.deep.equal(regions.map((r) => keyIn(run.mocks, r).state.arn).sort());
        expect((run.outputs.stagingKeys as any[]).map((k) => [k.region, k.multiRegionKey])).to.deep.equal([
            ["us-east-1", "primary"],
            ["us-west-2", "replica"],
            ["eu-west-1", "replica"],
        ]);
    });

    it("picks the primary's Region by a rule that does not depend on the order of entries", async () => {
        const primaryOf = async (order: string[]) => {
            const run = await runProgram(
                config(
                    order.map((r) => entry(r)),
                    { multiRegion: true },
                ),
                {},
                { aws: { existingKeys: [] } },
            );
            return drsKeys(run.mocks).find((k) => k.type === keyType)!.inputs.region;
        };
        expect(await primaryOf(regions)).to.equal("eu-west-1");
        expect(await primaryOf([...regions].reverse())).to.equal("eu-west-1");
    });

    it("never replaces an existing key: single-Region keys stay so, with a warning, and new Regions get a new family", async () => {
        const existing: MockKey[] = ["us-east-1", "us-west-2"].map((region, i) => ({
            accountId: staging,
            region,
            keyId: `${i}234abcd-12ab-34cd-56ef-1234567890ab`,
            alias: "alias/drs-cross-account-ebs",
        }));
        const run = await runProgram(
            config(
                regions.map((r) => entry(r)),
                { multiRegion: true },
            ),
            {},
            { aws: { existingKeys: existing } },
        );
        for (const region of ["us-east-1", "us-west-2"]) {
            const key = keyIn(run.mocks, region);
            expect([key.type, key.inputs.multiRegion, key.importId]).to.deep.equal([keyType, false, undefined]);
        }
        expect([keyIn(run.mocks, "eu-west-1").type, keyIn(run.mocks, "eu-west-1").inputs.multiRegion]).to.deep.equal([keyType, true]);
        expect(run.warnings).to.include(
            `key.multiRegion applies to keys not yet created: ${staging}/us-east-1, ${staging}/us-west-2 keep their single-Region key (KMS cannot make an existing key multi-Region).`,
        );
    });

    it("adds a replica of an existing family's primary in a new Region", async () => {
        const existing: MockKey[] = [
            { accountId: staging, region: "us-east-1", keyId: mrk, alias: "alias/drs-cross-account-ebs", multiRegionKeyType: "PRIMARY" },
        ];
        const run = await runProgram(
            config(
                regions.map((r) => entry(r)),
                { multiRegion: true },
            ),
            {},
            { aws: { existingKeys: existing } },
        );
        const primaryArn = `arn:aws:kms:us-east-1:${staging}:key/${mrk}`;
        expect([keyIn(run.mocks, "us-east-1").type, keyIn(run.mocks, "us-east-1").inputs.multiRegion]).to.deep.equal([keyType, true]);
        for (const region of ["us-west-2", "eu-west-1"]) expect(keyIn(run.mocks, region).inputs.primaryKeyArn).to.equal(primaryArn);
    });

    it("adopts an existing primary and its replica, each in its own Region", async () => {
        const existing: MockKey[] = [
            { accountId: staging, region: "us-east-1", keyId: mrk, multiRegionKeyType: "PRIMARY" },
            { accountId: staging, region: "us-west-2", keyId: mrk, multiRegionKeyType: "REPLICA", primaryRegion: "us-east-1" },
        ];
        const run = await runProgram(
            config([entry("us-east-1", { importKeyId: mrk }), entry("us-west-2", { importKeyId: mrk })]),
            {},
            { aws: { existingKeys: existing } },
        );
        const primary = keyIn(run.mocks, "us-east-1");
        const replica = keyIn(run.mocks, "us-west-2");
        expect([primary.type, primary.importId, primary.inputs.multiRegion]).to.deep.equal([keyType, `${mrk}@us-east-1`, true]);
        expect([replica.type, replica.importId, replica.inputs.primaryKeyArn]).to.deep.equal([
            replicaType,
            `${mrk}@us-west-2`,
            `arn:aws:kms:us-east-1:${staging}:key/${mrk}`,
        ]);
        expect(viaServices(replica)).to.deep.equal(["ec2.us-west-2.amazonaws.com"]);
    });

    it("refuses key.primaryRegion where the account's existing key cannot be a primary", async () => {
        const existing: MockKey[] = [{ accountId: staging, region: "us-east-1", keyId: uuidKey, alias: "alias/drs-cross-account-ebs" }];
        const { error, keys } = await failure(
            config(
                regions.map((r) => entry(r)),
                { multiRegion: true, primaryRegion: "us-east-1" },
            ),
            existing,
        );
        expect(error.message).to.match(
            /^drs-cross-account-kms:stagingAccounts\[0\] key.primaryRegion asks for the multi-Region primary in us-east-1, but 444455556666's key there is single-Region/,
        );
        expect(keys).to.deep.equal([]);
    });

    it("keeps the access report whole for replicas: each Region's key, with its own policy", async () => {
        const { synthesize } = await import("../../plan/synth");
        const fs = await import("fs");
        const os = await import("os");
        const path = await import("path");
        const yaml = await import("js-yaml");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-mrk-"));
        fs.copyFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const stack = Object.fromEntries(
            Object.entries(config([...regions.map((r) => entry(r)), entry("us-east-1", {}, other)], { multiRegion: true })).map(
                ([k, v]) => [`drs-cross-account-kms:${k}`, v],
            ),
        );
        fs.writeFileSync(path.join(dir, "Pulumi.mrk.yaml"), yaml.dump({ config: { "pulumi:disable-default-providers": ["*"], ...stack } }));
        const plan = await synthesize("mrk", { projectDir: dir });
        expect(plan.plan.resources.filter((r) => r.type === replicaType)).to.have.length(2);
        const checks = await accessReport(plan);
        expect(mismatches(checks)).to.deep.equal([]);
        expect(new Set(checks.map((c) => c.key))).to.deep.equal(new Set([...regions.map((r) => `${staging}/${r}`), `${other}/us-east-1`]));
    });
});

describe("planKeys", () => {
    it("makes a lone account's single new key its family's primary", () => {
        expect(planKeys([{ accountId: staging, region: "us-east-1" }], { multiRegion: true }).keys).to.deep.equal([{ kind: "primary" }]);
    });

    it("refuses two multi-Region families in one account when a new replica must pick one", () => {
        const key = (id: string, region: string) => ({
            arn: `arn:aws:kms:${region}:${staging}:key/${id}`,
            keyId: id,
            keyManager: "CUSTOMER",
            keySpec: "SYMMETRIC_DEFAULT",
            keyUsage: "ENCRYPT_DECRYPT",
            keyState: "Enabled",
            origin: "AWS_KMS",
            multiRegion: true,
            multiRegionKeyType: "PRIMARY",
        });
        const plan = planKeys(
            [
                { accountId: staging, region: "us-east-1", existing: key("mrk-a", "us-east-1") },
                { accountId: staging, region: "us-west-2", existing: key("mrk-b", "us-west-2") },
                { accountId: staging, region: "eu-west-1" },
            ],
            { multiRegion: true },
        );
        expect(plan.problems.map((p) => p.entry)).to.deep.equal([2]);
        expect(plan.problems[0].message).to.match(/has keys of 2 multi-Region families/);
    });

    it("leaves every new key single-Region without key.multiRegion", () => {
        const plan = planKeys(
            regions3().map((region) => ({ accountId: staging, region })),
            { multiRegion: false },
        );
        expect(plan.keys.map((k) => k.kind)).to.deep.equal(["single-Region", "single-Region", "single-Region"]);
    });
});

function regions3() {
    return ["us-east-1", "us-west-2", "eu-west-1"];
}
