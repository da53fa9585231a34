import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseConfig } from "../../config";
import {
    PricesError,
    drsCost,
    estimateCost,
    formatCost,
    hoursPerMonth,
    listPrices,
    parseServerCount,
    pricesWith,
} from "../../plan/pricing";
import { fleetProject } from "../support/fleet";
import { synthesize } from "../../plan/synth";
import { spawnCli } from "../support/mocks";
import { SynthResult } from "../../plan/plan";
import { planDocument } from "../../plan/document";

const prices = (overrides: unknown) => {
    try {
        return pricesWith(overrides, "prices.json");
    } catch (err) {
        expect(err).to.be.instanceOf(PricesError);
        return (err as Error).message;
    }
};

describe("pricing: the one table", () => {
    it("holds the KMS list prices with their sources and the date they were read, and no DRS figure it could not source", () => {
        expect(listPrices.kms).to.deep.equal({ keyMonth: 1, rotationMonth: 1, billedRotations: 2 });
        expect(listPrices.drsServerHour).to.deep.equal({});
        expect(listPrices.sources.map((s) => s.url)).to.include.members([
            "https://aws.amazon.com/kms/pricing/",
            "https://aws.amazon.com/disaster-recovery/pricing/",
        ]);
        for (const s of listPrices.sources) expect(s.read).to.match(/^\d{4}-\d{2}-\d{2}$/);
    });

    it("takes a --prices file's figures over the list prices, and refuses what is not a price", () => {
        const p = pricesWith({ kms: { keyMonth: 0.9 }, drsServerHour: { "us-east-1": 0.03, "*": 0.04 }, origin: "our rates" });
        expect(p.kms).to.deep.equal({ keyMonth: 0.9, rotationMonth: 1, billedRotations: 2 });
        expect(p.drsServerHour).to.deep.equal({ "us-east-1": 0.03, "*": 0.04 });
        expect(p.origin).to.equal("our rates");
        expect(pricesWith({ drsServerHour: 0.05 }).drsServerHour).to.deep.equal({ "*": 0.05 });
        expect(prices([])).to.equal("prices.json: not a JSON object of prices.");
        expect(prices({ kms: { keyMonth: -1 } })).to.equal("prices.json: kms.keyMonth must be a number, 0 or more, not -1.");
        expect(prices({ kms: { perKey: 1 } })).to.match(
            /kms.perKey is not a known setting. Known: keyMonth, rotationMonth, billedRotations/,
        );
        expect(prices({ ec2: {} })).to.equal("prices.json: ec2 is not a known setting. Known: origin, kms, drsServerHour.");
        expect(prices({ drsServerHour: { "us-east-1": "0.03" } })).to.equal(
            "prices.json: drsServerHour has us-east-1 not a number, 0 or more.",
        );
        // One declaration: a file and the stack's `pricing` setting are refused in the same words.
        const configured = {
            target: { accountId: "111122223333" },
            stagingAccounts: [],
            deploy: "staging",
            pricing: { kms: { keyMonth: -1 } },
        };
        expect(() => parseConfig(configured)).to.throw(
            ConfigError,
            `drs-cross-account-kms:pricing.${(prices(configured.pricing) as string).replace("prices.json: ", "")}`,
        );
        expect(prices({ kms: { billedRotations: 1.5 } })).to.equal(
            "prices.json: kms.billedRotations must be a whole number from 0 to 100, not 1.5.",
        );
    });

    it("reads --servers as a total or per Region", () => {
        expect(parseServerCount(["450"])).to.deep.equal({ total: 450 });
        expect(parseServerCount(["us-east-1=100,eu-west-1=20"])).to.deep.equal({ byRegion: { "us-east-1": 100, "eu-west-1": 20 } });
        expect(parseServerCount(["us-east-1=100", "eu-west-1=20"])).to.deep.equal({ byRegion: { "us-east-1": 100, "eu-west-1": 20 } });
        expect(() => parseServerCount(["ten"])).to.throw(PricesError, "--servers ten: give a whole number of servers.");
        expect(() => parseServerCount(["us-east-1=1", "us-east-1=2"])).to.throw(PricesError, "us-east-1 was given twice");
        expect(() => parseServerCount(["east=1"])).to.throw(PricesError, "<region>=<number>");
    });

    it("prices DRS's own charge per server-hour, and says where to get a price it does not have", () => {
        const p = pricesWith({ drsServerHour: { "us-east-1": 0.03, "eu-west-1": 0.04 } });
        expect(drsCost(p, { total: 100 }, ["us-east-1"]).monthly).to.deep.equal({
            min: 100 * 0.03 * hoursPerMonth,
            max: 100 * 0.03 * hoursPerMonth,
        });
        const spread = drsCost(p, { total: 100 }, ["eu-west-1", "us-east-1"]);
        expect(spread.monthly).to.deep.equal({ min: 2190, max: 2920 });
        expect(spread.note).to.match(/range is all of them in the cheapest to all in the dearest/);
        expect(drsCost(p, { byRegion: { "us-east-1": 10, "eu-west-1": 10 } }, []).monthly).to.deep.equal({ min: 511, max: 511 });
        const missing = drsCost(listPrices, { total: 10 }, ["us-east-1"]);
        expect(missing.monthly).to.equal(undefined);
        expect(missing.note).to.match(
            /no DRS price for us-east-1 in the table: give it with --prices .* https:\/\/aws.amazon.com\/disaster-recovery\/pricing\//,
        );
    });
});

describe("pricing: the example prices file the docs run", () => {
    const root = path.join(__dirname, "..", "..");
    const example = "examples/prices.example.json";

    it("is shipped, reads as a --prices file, and says in its origin that its figures are an example with their date and source", () => {
        const table = pricesWith(JSON.parse(fs.readFileSync(path.join(root, example), "utf8")), example);
        expect(table.origin).to.match(/^EXAMPLE prices, not current AWS prices \(examples\/prices\.example\.json, 2026-11-29: /);
        expect(table.origin).to.include("https://aws.amazon.com/kms/pricing/");
        expect(table.kms).to.deep.equal(listPrices.kms);
        const run = spawnCli("synth", "-s", "target", "--format", "text", "--servers", "450", "--prices", example);
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stdout).to.include("Monthly cost (EXAMPLE prices, not current AWS prices");
    });

    it("is the file every --prices example of the help and the README names, so they run as written", () => {
        const help = fs
            .readdirSync(path.join(root, "cli", "commands"))
            .map((f) => fs.readFileSync(path.join(root, "cli", "commands", f), "utf8"));
        const named = [...help, fs.readFileSync(path.join(root, "README.md"), "utf8")].flatMap((text) =>
            [...text.matchAll(/--prices ([\w./-]+\.json)/g)].map(([, file]) => file),
        );
        expect(named).to.have.length.greaterThan(0);
        for (const file of named) expect(fs.existsSync(path.join(root, file)), file).to.equal(true);
    });
});

describe("pricing: the plan's monthly cost", () => {
    let target: SynthResult;
    before(async () => {
        target = await synthesize("target");
    });

    it("counts the DRS key and the alert topic's key of the stacks the target reads, with rotation's first two steps", () => {
        const cost = estimateCost(target);
        expect(cost.keys.map((k) => [k.stack, k.kind, k.region, k.rotation])).to.deep.equal([
            ["staging", "DRS key", "us-east-1", true],
            ["staging", "alert topic key", "us-east-1", true],
        ]);
        expect(cost.kms.monthly).to.deep.equal({ now: 2, afterFirstRotation: 4, steady: 6 });
        expect(cost.free.map((f) => [f.what, f.count])).to.deep.include.members([
            ["SNS topic", 1],
            ["EventBridge rules", 7], // one per kind of drift alert
        ]);
        expect(cost.drs).to.equal(undefined);
    });

    it("bills each multi-Region replica as a key, rotating with its primary", async () => {
        const dir = fleetProject(3, { key: { multiRegion: true } });
        const cost = estimateCost(await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") }));
        const drs = cost.keys.filter((k) => k.kind === "DRS key");
        expect(drs.map((k) => k.multiRegion ?? "single").sort()).to.deep.equal(["primary", "replica", "replica"]);
        expect(drs.every((k) => k.rotation && k.monthly?.steady === 3)).to.equal(true);
        expect(cost.kms.monthly.now).to.equal(6); // 3 DRS keys and 3 alert topic keys
    });

    it("says it in words: the keys, what is free and why, DRS apart, and what is not estimated", () => {
        const text = formatCost(estimateCost(target, pricesWith({ drsServerHour: 0.03 }), { total: 100 })).join("\n");
        expect(text).to.include(
            "KMS keys: 2 keys (1 DRS key, 1 alert topic key), 2 rotating: $2.00 now, $4.00 after the first rotation, $6.00 from the second on.",
        );
        expect(text).to.include("1 SNS topic: $0 (no monthly charge");
        expect(text).to.include("7 EventBridge rules: $0 (no monthly charge");
        expect(text).to.include(
            "DRS (shown apart: it grows with the servers, not the plan): 100 servers replicating, us-east-1 at $0.03/server-hour: $2,190.00 a month",
        );
        expect(text).to.match(/Not estimated: KMS requests/);
    });

    it("is in synth's JSON and text; --prices and --servers change it; a bad --prices is one line, exit 2", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-prices-")), "prices.json");
        fs.writeFileSync(file, JSON.stringify({ drsServerHour: { "us-east-1": 0.03 } }));
        const json = spawnCli("synth", "--stack", "target", "--prices", file, "--servers", "100");
        expect(json.status, json.stderr).to.equal(0);
        const doc = JSON.parse(json.stdout);
        expect(Object.keys(doc)).to.deep.equal(["project", "stack", "secretConfigKeys", "resources", "outputs", "cost", "capacity"]);
        expect(doc.cost.kms.monthly).to.deep.equal({ now: 2, afterFirstRotation: 4, steady: 6 });
        expect(doc.cost.drs.monthly).to.deep.equal({ min: 2190, max: 2190 });
        expect(doc).to.deep.equal(
            JSON.parse(
                JSON.stringify(
                    planDocument(target, { prices: pricesWith({ drsServerHour: { "us-east-1": 0.03 } }, file), servers: { total: 100 } }),
                ),
            ),
        );
        const text = spawnCli("synth", "--stack", "target", "--format", "text");
        expect(text.stdout).to.match(
            /\nMonthly cost \(AWS list prices, USD;[\s\S]*\nCapacity and quotas[\s\S]*\nAccess report: \d+ checks/,
        );
        fs.writeFileSync(file, '{"kms": {"keyMonth": "one"}}');
        const bad = spawnCli("synth", "--stack", "target", "--prices", file);
        expect([bad.status, bad.stdout, bad.stderr]).to.deep.equal([
            2,
            "",
            `error: --prices ${file}: kms.keyMonth must be a number, 0 or more, not "one".\n`,
        ]);
        const missing = spawnCli("synth", "--stack", "target", "--prices", `${file}.nope`);
        expect([missing.status, missing.stderr]).to.deep.equal([2, `error: --prices ${file}.nope: cannot read it (ENOENT).\n`]);
    });

    it("takes the stack's pricing config when no --prices is given, checked like every setting", () => {
        const dir = fleetProject(1, {
            pricing: { drsServerHour: { "us-east-1": 0.028 }, kms: { keyMonth: 0.9 } },
            alerts: { enabled: false },
        });
        const configured = spawnCli("synth", "--stack", "fleet", "--servers", "10", "--config-file", path.join(dir, "Pulumi.fleet.yaml"));
        expect(configured.status, configured.stderr).to.equal(0);
        const cost = JSON.parse(configured.stdout).cost;
        expect(cost.kms.monthly.now).to.equal(0.9);
        expect(cost.drs.monthly).to.deep.equal({ min: 10 * 0.028 * hoursPerMonth, max: 10 * 0.028 * hoursPerMonth });
        // --prices wins over the config.
        const file = path.join(dir, "prices.json");
        fs.writeFileSync(file, JSON.stringify({ kms: { keyMonth: 2 } }));
        const flagged = spawnCli("synth", "--stack", "fleet", "--prices", file, "--config-file", path.join(dir, "Pulumi.fleet.yaml"));
        expect(JSON.parse(flagged.stdout).cost.kms.monthly.now).to.equal(2);
        const bad = fleetProject(1, { pricing: { kms: { keyMonth: -1 }, drsServerHour: { "us-east-1": "cheap" } } });
        const refused = spawnCli("synth", "--stack", "fleet", "--config-file", path.join(bad, "Pulumi.fleet.yaml"));
        expect(refused.status).to.equal(2);
        expect(refused.stderr).to.contain("drs-cross-account-kms:pricing.kms.keyMonth must be a number, 0 or more, not -1.");
        expect(refused.stderr).to.contain("drs-cross-account-kms:pricing.drsServerHour has us-east-1 not a number, 0 or more.");
    });
});
