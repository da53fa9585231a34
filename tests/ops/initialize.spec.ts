// initialize against mocked accounts (tests/support/initializeWorld.ts): the plan per account and
// Region from the stack config alone, --apply sending InitializeService once where DRS is not
// initialised, the wait for the service-linked role, stops, lost answers, and exit codes.
import { DescribeReplicationConfigurationTemplatesCommand, InitializeServiceCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { AssumedRoleAccess, clientOptions, maxAttempts } from "../../ops/aws/access";
import { configOnlyNote, placesOf } from "../../ops/initialize";
import { readDeployedStack } from "../../ops/aws/deployedStack";
import { StagingKeyExport } from "../../program/contract";
import { spawnCli } from "../support/mocks";
import {
    awsError,
    denied,
    drsAccounts,
    east,
    fakeClock,
    run,
    staging,
    stagingConfig,
    status,
    target,
    targetConfig,
    west,
} from "../support/initializeWorld";

const places = [`${staging}/${east}`, `${staging}/${west}`, `${target}/${east}`, `${target}/${west}`];
/** The staging account initialised in us-east-1 only; the target in both Regions. */
const oneRegionLeft = () =>
    drsAccounts(places, { initialised: [`${staging}/${east}`, `${target}/${east}`, `${target}/${west}`], roles: [staging, target] });
const neverInitialised = (roleAfterReads = 0) =>
    drsAccounts([`${staging}/${east}`, `${target}/${east}`], { initialised: [`${target}/${east}`], roles: [target], roleAfterReads });

const notInitialisedWest = `${staging}/${west} (staging): not initialised: DRS answers UninitializedAccountException in this Region`;
const nextStep =
    "`pulumi up --stack staging` creates the replication settings template in each staging account and Region (each entry's replication settings): DRS has none until then.";
const pollMs = 5_000;

describe("initialize", () => {
    it("dry run: names each account and Region with its state, sends no InitializeService anywhere (exit 1)", async () => {
        const world = oneRegionLeft();
        const { code, out, err } = await run(world.access, { configFile: stagingConfig() });
        expect(out.split("\n")).to.deep.equal([
            "Dry run: nothing is changed. Run again with --apply to initialise DRS where it is not.",
            "",
            configOnlyNote,
            "",
            `${staging}/${east} (staging): initialised`,
            notInitialisedWest,
            `${target}/${east} (target): initialised`,
            `${target}/${west} (target): initialised`,
            "",
            "1 account and Region to initialise. Run again with --apply to initialise it.",
            `Then: ${nextStep}`,
            "",
        ]);
        expect(err).to.equal("Checking DRS in 4 accounts and Regions...\n");
        expect(code).to.equal(1);
        for (const [place, mock] of world.drsMocks) expect(mock.commandCalls(InitializeServiceCommand), place).to.have.length(0);
        // IAM is global: the role is read once per account, however many Regions it has.
        for (const [account, mock] of world.iamMocks) expect(mock.commandCalls(GetRoleCommand), account).to.have.length(1);
    });

    it("exits 0 when DRS is initialised everywhere, saying what comes next", async () => {
        const world = drsAccounts(places, { initialised: places, roles: [staging, target] });
        const { code, out } = await run(world.access, { configFile: stagingConfig() });
        expect(out).to.include(
            "\nDRS is initialised in every account and Region of the stack (its service-linked role AWSServiceRoleForElasticDisasterRecovery exists in each account).\n",
        );
        expect(out).to.include(`Next: ${nextStep}`);
        expect(code).to.equal(0);
    });

    it("--apply initialises the one Region left, never sends to the one initialised, and a re-run is a no-op (exit 0)", async () => {
        const world = oneRegionLeft();
        const configFile = stagingConfig();
        const first = await run(world.access, { configFile, apply: true });
        expect(first.out.split("\n").slice(-7)).to.deep.equal([
            "",
            "Initialising DRS in 1 account and Region:",
            `  initialised ${staging}/${west}: InitializeService done: DRS answers and its service-linked role exists`,
            "",
            "1 initialised, 0 skipped (initialised already), 0 failed.",
            `Next: ${nextStep}`,
            "",
        ]);
        expect(first.code).to.equal(0);
        expect(world.initializeCalls()).to.deep.equal([`${staging}/${west}`]);
        expect(world.drsMocks.get(`${staging}/${west}`)!.commandCalls(InitializeServiceCommand)[0].args[0].input).to.deep.equal({});

        const again = await run(world.access, { configFile, apply: true });
        expect(again.code).to.equal(0);
        expect(again.out).not.to.include("Initialising DRS");
        expect(again.out).to.include("DRS is initialised in every account and Region of the stack");
        expect(world.initializeCalls()).to.deep.equal([`${staging}/${west}`]);
    });

    it("--apply waits for the service-linked role, reading every pollMs on the clock, with progress (exit 0)", async () => {
        const world = neverInitialised(2);
        const { clock, sleeps } = fakeClock();
        const { code, out, err } = await run(world.access, { configFile: stagingConfig([east]), apply: true, clock, pollMs });
        expect(out).to.include(
            `\n  initialised ${staging}/${east}: InitializeService done: DRS answers and its service-linked role exists, after 3 reads\n`,
        );
        const waiting = `Waiting for DRS to be initialised in ${staging}/${east}: the service-linked role AWSServiceRoleForElasticDisasterRecovery does not exist in ${staging}...`;
        expect(err.split("\n")).to.deep.equal(["Checking DRS in 2 accounts and Regions...", waiting, waiting, ""]);
        expect(sleeps).to.deep.equal([pollMs, pollMs]);
        expect(world.initializeCalls()).to.deep.equal([`${staging}/${east}`]);
        expect(code).to.equal(0);
    });

    it("re-reads each place before the call: one initialised since the plan is skipped, nothing sent (exit 0)", async () => {
        const world = oneRegionLeft();
        // Someone initialised it in the console between the plan's read and the write.
        world.drsMocks
            .get(`${staging}/${west}`)!
            .on(DescribeReplicationConfigurationTemplatesCommand)
            .rejectsOnce(awsError("UninitializedAccountException", "not initialised", status(400)))
            .resolves({ items: [] });
        const { code, out } = await run(world.access, { configFile: stagingConfig(), apply: true });
        expect(out).to.include(`  skipped     ${staging}/${west}: initialised already (re-read before the call): nothing was sent\n`);
        expect(out).to.include("0 initialised, 1 skipped (initialised already), 0 failed.");
        expect(world.initializeCalls()).to.deep.equal([]);
        expect(code).to.equal(0);
    });

    describe("a stop for lack of permission", () => {
        it("on the first InitializeService: names the permission and the resume, nothing done before it (exit 2)", async () => {
            const world = oneRegionLeft();
            world.drsMocks.get(`${staging}/${west}`)!.on(InitializeServiceCommand).rejects(denied(staging, "drs:InitializeService"));
            const configFile = stagingConfig();
            const { code, out, err } = await run(world.access, { configFile, apply: true });
            expect(err).to.include(
                `error: stopped at ${staging}/${west}: the credentials for ${staging} lack drs:InitializeService (AccessDeniedException: User: arn:aws:sts::${staging}:assumed-role/Ops/me is not authorized to perform: drs:InitializeService on resource: *). ` +
                    "0 places were initialised by this run before it. InitializeService creates DRS's roles with your permissions: `npm run -s initialize -- --print-policy` lists them. " +
                    `Grant drs:InitializeService in ${staging}, then resume: npm run -s initialize -- -s staging --config-file ${configFile} --apply (places initialised already are skipped).\n`,
            );
            expect(out).not.to.include("Next:");
            expect(code).to.equal(2);
            expect(world.initializeCalls()).to.deep.equal([`${staging}/${west}`]);
        });

        it("after a place was initialised: says so, names the IAM permission InitializeService lacked, goes no further (exit 1)", async () => {
            const world = drsAccounts([`${staging}/${east}`, `${staging}/${west}`, `${target}/${east}`, `${target}/${west}`], {
                initialised: [`${target}/${east}`],
                roles: [],
            });
            world.drsMocks.get(`${target}/${east}`)!.on(InitializeServiceCommand).rejects(denied(target, "iam:CreateServiceLinkedRole"));
            const { code, out, err } = await run(world.access, { configFile: stagingConfig(), apply: true });
            expect(out).to.include(`  initialised ${staging}/${east}: `);
            expect(out).to.include(`  initialised ${staging}/${west}: `);
            expect(out).to.include("2 initialised, 0 skipped (initialised already), 0 failed.");
            expect(err).to.match(
                new RegExp(
                    `error: stopped at ${target}/${east}: the credentials for ${target} lack iam:CreateServiceLinkedRole .*2 places were initialised by this run before it\\. .*Grant iam:CreateServiceLinkedRole in ${target}, then resume: `,
                ),
            );
            // The stop is where it stopped: the target's other Region is not tried.
            expect(world.initializeCalls()).to.deep.equal([`${staging}/${east}`, `${staging}/${west}`, `${target}/${east}`]);
            expect(code).to.equal(1);
        });
    });

    describe("a write sent once", () => {
        it("a throttled InitializeService is sent again by the SDK (the writer retries throttling only): initialised (exit 0)", async () => {
            const world = oneRegionLeft();
            const sent: string[] = [];
            const script = [
                () => answer(429, { __type: "ThrottlingException", message: "Rate exceeded" }),
                () => {
                    world.initialise(`${staging}/${west}`);
                    return answer(204);
                },
            ];
            const handler = {
                handle: async (request: { method: string; path: string }) => {
                    sent.push(`${request.method} ${request.path}`);
                    return { response: script.shift()!() };
                },
            };
            const sts = new STSClient({ region: west });
            mockClient(sts)
                .on(AssumeRoleCommand)
                .resolves({ Credentials: { AccessKeyId: "AKIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date() } });
            const options = { ...clientOptions(), requestHandler: handler, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 0) };
            const real = new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]), "initialize", sts, options);
            world.writers.set(`${staging}/${west}`, await real.drsWriter(staging, west));
            const { code, out } = await run(world.access, { configFile: stagingConfig(), apply: true });
            expect(sent).to.deep.equal(["POST /InitializeService", "POST /InitializeService"]);
            expect(out).to.include(`  initialised ${staging}/${west}: InitializeService done`);
            expect(code).to.equal(0);
        });

        it("throttled past the SDK's retries: failed, saying DRS did nothing, not sent again (exit 1)", async () => {
            const world = oneRegionLeft();
            world.drsMocks
                .get(`${staging}/${west}`)!
                .on(InitializeServiceCommand)
                .rejects(awsError("ThrottlingException", "Rate exceeded", status(429)));
            const { code, out } = await run(world.access, { configFile: stagingConfig(), apply: true });
            expect(out).to.include(
                `  failed      ${staging}/${west}: InitializeService was refused (ThrottlingException: Rate exceeded): DRS did nothing; throttled past the SDK's retries: run again later\n`,
            );
            expect(out).to.include("Run again to retry the failed places: npm run -s initialize -- -s staging --config-file ");
            expect(world.initializeCalls()).to.have.length(1);
            expect(code).to.equal(1);
        });

        it("an answer lost (a 500) after DRS did it: a re-read shows it initialised, and it is not sent again (exit 0)", async () => {
            const world = oneRegionLeft();
            world.drsMocks
                .get(`${staging}/${west}`)!
                .on(InitializeServiceCommand)
                .callsFake(async () => {
                    world.initialise(`${staging}/${west}`);
                    throw awsError("InternalServerException", "boom", { $fault: "server", ...status(500) });
                });
            const { code, out } = await run(world.access, { configFile: stagingConfig(), apply: true });
            expect(out).to.include(
                `  initialised ${staging}/${west}: the answer to InitializeService was lost (InternalServerException: boom), and a re-read shows DRS initialised: it was not sent again\n`,
            );
            expect(world.initializeCalls()).to.deep.equal([`${staging}/${west}`]);
            expect(code).to.equal(0);
        });

        it("an answer lost (a timeout) before DRS did it: re-read for a bounded time, failed, never resent (exit 1)", async () => {
            const world = oneRegionLeft();
            world.drsMocks
                .get(`${staging}/${west}`)!
                .on(InitializeServiceCommand)
                .rejects(awsError("TimeoutError", "Connection timed out after 60000 ms"));
            const { clock, sleeps } = fakeClock();
            const { code, out } = await run(world.access, {
                configFile: stagingConfig(),
                apply: true,
                clock,
                pollMs,
                lostAnswerWaitMs: 12_000,
            });
            expect(out).to.include(
                `  failed      ${staging}/${west}: the answer to InitializeService was lost (TimeoutError: Connection timed out after 60000 ms), ` +
                    "and re-reads show DRS still not initialised (DRS answers UninitializedAccountException in this Region); it was not sent again: run again to retry\n",
            );
            expect(sleeps).to.deep.equal([5_000, 5_000, 2_000]);
            expect(world.initializeCalls()).to.deep.equal([`${staging}/${west}`]);
            expect(code).to.equal(1);
        });
    });

    describe("waits that end", () => {
        it("the time limit while waiting for the role: stops, saying InitializeService was sent there (exit 1)", async () => {
            const world = neverInitialised(1_000);
            const { clock, sleeps } = fakeClock();
            const { code, err } = await run(world.access, {
                configFile: stagingConfig([east]),
                apply: true,
                clock,
                pollMs: 25_000,
                timeLimitMinutes: 1,
            });
            expect(sleeps).to.deep.equal([25_000, 25_000, 10_000]);
            expect(err).to.include(
                `error: stopped at ${staging}/${east}: the 1-minute --time-limit was reached while waiting for DRS to be initialised in ${staging}/${east} ` +
                    `(the service-linked role AWSServiceRoleForElasticDisasterRecovery does not exist in ${staging}). 0 places were initialised by this run before it. ` +
                    `InitializeService was sent in ${staging}/${east}: a re-run reads it first and does not send it again once DRS answers there. Resume: `,
            );
            expect(world.initializeCalls()).to.have.length(1);
            expect(code).to.equal(1);
        });

        it("Ctrl-C while waiting: stops at once, naming the place (exit 1)", async () => {
            const world = neverInitialised(1_000);
            const controller = new AbortController();
            const clock = { now: () => 0, sleep: async () => controller.abort() };
            const { code, err } = await run(world.access, {
                configFile: stagingConfig([east]),
                apply: true,
                clock,
                signal: controller.signal,
            });
            expect(err).to.include(
                `error: stopped at ${staging}/${east}: stopped by Ctrl-C while waiting for DRS to be initialised in ${staging}/${east}.`,
            );
            expect(code).to.equal(1);
        });
    });

    describe("places that could not be checked", () => {
        it("a refused check leaves its place unchecked, with the permission to grant; never initialised, never written (exit 3)", async () => {
            const world = drsAccounts(places, { initialised: places, roles: [staging, target] });
            world.drsMocks
                .get(`${target}/${west}`)!
                .on(DescribeReplicationConfigurationTemplatesCommand)
                .rejects(denied(target, "drs:DescribeReplicationConfigurationTemplates"));
            for (const apply of [false, true]) {
                const { code, out } = await run(world.access, { configFile: stagingConfig(), apply });
                expect(out).to.include(
                    `${target}/${west} (target): not checked: the credentials for ${target} were refused drs:DescribeReplicationConfigurationTemplates ` +
                        `(AccessDeniedException: User: arn:aws:sts::${target}:assumed-role/Ops/me is not authorized to perform: drs:DescribeReplicationConfigurationTemplates on resource: *). ` +
                        `Fix: grant drs:DescribeReplicationConfigurationTemplates to the credentials used in ${target}.\n`,
                );
                expect(out).to.include("1 place could not be checked (listed above, each with its fix): never counted as initialised.");
                expect(out).not.to.include("DRS is initialised in every account");
                expect(code).to.equal(3);
            }
            expect(world.initializeCalls()).to.deep.equal([]);
        });

        it("a place not initialised is a finding even beside an unchecked one (exit 1)", async () => {
            const world = oneRegionLeft();
            world.iamMocks.get(target)!.on(GetRoleCommand).rejects(awsError("TimeoutError", "Connection timed out after 60000 ms"));
            const { code, out } = await run(world.access, { configFile: stagingConfig() });
            expect(out).to.include(
                `${target}/${east} (target): not checked: iam:GetRole in ${target} did not answer in time (TimeoutError: Connection timed out after 60000 ms). Fix: run again.\n`,
            );
            expect(out).to.include(notInitialisedWest);
            expect(code).to.equal(1);
        });
    });

    it("--json: one document on stdout (mode, the plan per account and Region, results, exitCode), the rest on stderr", async () => {
        const world = oneRegionLeft();
        const dry = await run(world.access, { configFile: stagingConfig(), json: true });
        const plan = JSON.parse(dry.out);
        expect(Object.keys(plan)).to.deep.equal(["mode", "plan", "exitCode"]);
        expect([plan.mode, plan.exitCode, plan.plan.configOnly, plan.plan.regionless]).to.deep.equal(["dry-run", 1, true, []]);
        expect(plan.plan.places[1]).to.deep.equal({
            accountId: staging,
            region: west,
            sides: ["staging"],
            drs: "not-initialised",
            serviceLinkedRole: "exists",
            status: "not-initialised",
            why: "DRS answers UninitializedAccountException in this Region",
        });
        expect(plan.plan.places.map((p: { status: string }) => p.status)).to.deep.equal([
            "initialised",
            "not-initialised",
            "initialised",
            "initialised",
        ]);
        expect(dry.err).to.include("1 account and Region to initialise.");

        const applied = await run(world.access, { configFile: stagingConfig(), json: true, apply: true });
        const doc = JSON.parse(applied.out);
        expect([doc.mode, doc.exitCode, doc.stopped]).to.deep.equal(["apply", 0, undefined]);
        expect(doc.results).to.deep.equal([
            {
                accountId: staging,
                region: west,
                status: "initialised",
                message: "InitializeService done: DRS answers and its service-linked role exists",
            },
        ]);
        expect(applied.err).to.include("1 initialised, 0 skipped (initialised already), 0 failed.");
    });

    describe("the stack's places", () => {
        const settingsOf = async (configFile: string) =>
            (await readDeployedStack({ stack: "staging", configFile, command: "initialize", outputsOptional: true })).settings;

        it("from the config alone: each staging entry, and the target in every staging Region", async () => {
            const { places: found, regionless } = placesOf(await settingsOf(stagingConfig()), []);
            expect(found.map((p) => `${p.accountId}/${p.region} ${p.sides.join(",")}`)).to.deep.equal([
                `${staging}/${east} staging`,
                `${staging}/${west} staging`,
                `${target}/${east} target`,
                `${target}/${west} target`,
            ]);
            expect(regionless).to.deep.equal([]);
        });

        it("a deployed stack's keys add their places, and the Regions of the targets they serve", async () => {
            const key: StagingKeyExport = {
                accountId: "777788889999",
                region: "eu-west-1",
                keyId: "k",
                keyArn: "arn:aws:kms:eu-west-1:777788889999:key/k",
                aliasName: "alias/drs-cross-account-ebs",
                stagingRoleArn: "arn:aws:iam::777788889999:role/service-role/DRSStagingAccountRole_111122223333",
            };
            const found = placesOf(await settingsOf(stagingConfig([east])), [key]).places;
            expect(found.map((p) => `${p.accountId}/${p.region} ${p.sides.join(",")}`)).to.deep.equal([
                "777788889999/eu-west-1 staging",
                `${staging}/${east} staging`,
                `${target}/eu-west-1 target`,
                `${target}/${east} target`,
            ]);
        });

        it("a target stack with no outputs and no target.regions: the target is not checked, saying how to name its Regions (exit 3)", async () => {
            const world = drsAccounts([], { initialised: [], roles: [] });
            const { code, out } = await run(world.access, { configFile: targetConfig() });
            expect(out).to.include(
                `target ${target}: not checked: no Region is known for target ${target}: set its regions (target.regions or targets[].regions) in the stack config, ` +
                    "or pass the deployed stack's outputs with --outputs (its stagingKeys name the Regions).\n",
            );
            expect(code).to.equal(3);
        });

        it("with --outputs of a stack not deployed yet ({}), the same as the config alone", async () => {
            const world = oneRegionLeft();
            const outputsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-initialize-")), "outputs.json");
            fs.writeFileSync(outputsFile, "{}");
            const { code, out } = await run(world.access, { configFile: stagingConfig(), outputsFile });
            expect(out).to.include(configOnlyNote);
            expect(out).to.include(notInitialisedWest);
            expect(code).to.equal(1);
        });
    });
});

describe("initialize command line", () => {
    const cli = (...args: string[]) => spawnCli("initialize", ...args);

    it("--help: what it does, when to run it, --apply, the outputs it does not need, permissions, exit codes (exit 0)", () => {
        const help = cli("--help");
        expect(help.status).to.equal(0);
        for (const text of [
            "Run it before the staging stack's first `pulumi up`",
            "It needs no outputs: without --outputs and without the Pulumi CLI",
            "--apply ",
            "--json ",
            "drs:DescribeReplicationConfigurationTemplates; iam:GetRole; drs:InitializeService (--apply, where",
            "--print-policy [staging|target|you]",
            "Exit codes: 0 DRS initialised everywhere (or by this run), 1 some places not initialised",
        ])
            expect(help.stdout).to.include(text);
    });

    it("--print-policy target: InitializeService with the roles it creates, no stack needed; an unknown flag is exit 2", () => {
        const policy = cli("--print-policy", "target");
        expect(policy.status).to.equal(0);
        const actions: string[] = JSON.parse(policy.stdout).Statement[0].Action;
        for (const action of [
            "drs:InitializeService",
            "iam:CreateServiceLinkedRole",
            "drs:DescribeReplicationConfigurationTemplates",
            "iam:GetRole",
        ])
            expect(actions).to.include(action);
        const bad = cli("-s", "staging", "--force");
        expect([bad.status, bad.stderr]).to.deep.equal([2, "error: unknown option '--force'\n"]);
    });
});

/** A REST-JSON answer as the SDK's HTTP handler returns it. */
function answer(statusCode: number, body?: object) {
    return {
        statusCode,
        headers: { "content-type": "application/json", "x-amzn-requestid": "req" },
        body: Readable.from(body ? [Buffer.from(JSON.stringify(body))] : []),
    };
}
