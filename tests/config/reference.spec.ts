import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { RawConfig, parseConfig } from "../../config";
import { sections } from "../../config/parse";
import { configurationTable } from "../../config/reference";
import { configProblems } from "../support/configProblems";

const root = path.join(__dirname, "..", "..");
const docsDir = path.join(root, "docs");

/** The table's rows as cells, after the header and separator; a `|` escaped as `\|` stays in its cell. */
function tableRows(table: string): string[][] {
    const lines = table.split("\n");
    expect(lines.slice(0, 2)).to.deep.equal(["| Key | Default | Meaning |", "|---|---|---|"]);
    return lines.slice(2).map((line) => {
        expect(line, line).to.match(/^\| .* \|$/);
        return line
            .slice(2, -2)
            .split(/ (?<!\\)\| /)
            .map((cell) => cell.trim());
    });
}

/** Each row's key in full: `…replication.x` read as the key of the `replication` row above it, plus `.x`. */
function fullKeys(rows: string[][]): string[] {
    const groups = new Map<string, string>();
    return rows.map(([cell]) => {
        expect(cell, cell).to.match(/^`[^`]+`$/);
        const shown = cell.slice(1, -1);
        const short = /^…([\w]+)\.(.+)$/.exec(shown);
        const key = short ? `${groups.get(short[1]) ?? `(no ${short[1]} row above)`}.${short[2]}` : shown;
        groups.set(key.replace(/\[\]$/, "").split(".").at(-1)!.replace(/\[\]$/, ""), key);
        return key;
    });
}

const problemsOf = configProblems;

/** A heading's anchor as GitHub makes it. */
const anchor = (heading: string) =>
    heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-");
const anchorsOf = (file: string) =>
    fs.existsSync(file) ? [...fs.readFileSync(file, "utf8").matchAll(/^#+ (.+)$/gm)].map(([, heading]) => anchor(heading)) : [];

describe("the configuration reference table", () => {
    const table = configurationTable();
    const rows = tableRows(table);
    const keys = fullKeys(rows);
    const row = (key: string) => rows[keys.indexOf(key)] ?? expect.fail(`no row for ${key}`);

    it("is a markdown table of three cells a row, each filled, its code spans closed", () => {
        expect(rows.length).to.be.greaterThan(60);
        for (const cells of rows) {
            expect(cells, cells.join(" | ")).to.have.length(3);
            for (const cell of cells) {
                expect(cell, cells.join(" | ")).to.not.equal("");
                expect(cell.replace(/[^`]/g, "").length % 2, cell).to.equal(0);
            }
        }
    });

    it("names every key the parser knows exactly once, and no other", () => {
        // An unknown key in every mapping: each is refused with the keys the parser knows there.
        const unknown = { zzzz: true };
        const { problems, known } = ((raw: RawConfig) => {
            const problems = problemsOf(raw);
            const known = problems.flatMap((problem) => {
                const [, place, list] =
                    /^(?:(\S+)\.)?zzzz is not (?:a known setting|a setting of this program)\. Known(?: keys)?: ([^.]+)\./.exec(problem) ??
                    [];
                if (!list) return [];
                const parent = place ? `${place.replace(/\[\d+\]/g, "[]")}.` : "";
                return list.split(", ").map((key) => `${parent}${key}`);
            });
            return { problems, known };
        })({
            zzzz: true,
            target: {
                accountId: "111122223333",
                ...unknown,
                launch: [{ region: "us-east-1", ...unknown }],
                unprotectedServers: [{ sourceServerId: "s-0123456789abcdef0", reason: "a test", ...unknown }],
            },
            key: unknown,
            alerts: unknown,
            stagingAccounts: [
                {
                    accountId: "444455556666",
                    region: "us-east-1",
                    ...unknown,
                    replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0", ...unknown },
                    ec2SourceAccounts: [{ accountId: "555566667777", ...unknown }],
                    failback: unknown,
                },
            ],
            pricing: { ...unknown, kms: unknown },
            identityCenter: unknown,
        });
        expect(problems.filter((p) => p.includes("zzzz is not"))).to.have.length(13);
        // targets' items are target's shape: the table shows them once, under target.
        const targets = problemsOf({ targets: [{ accountId: "111122223333", ...unknown }], stagingAccounts: [] }).find((p) =>
            p.startsWith("targets[0].zzzz"),
        );
        expect(targets?.replace("targets[0]", "target")).to.equal(problems.find((p) => p.startsWith("target.zzzz")));
        expect(row("targets[]")[2]).to.include("shaped like `target`");

        const tableKeys = keys.map((key) => key.replace(/\[\]$/, ""));
        expect(new Set(tableKeys).size, "a key named twice").to.equal(tableKeys.length);
        expect([...tableKeys].sort()).to.deep.equal([...known].sort());
        expect(tableKeys.filter((key) => !key.includes(".") && !key.includes("["))).to.deep.equal(sections);
    });

    it("shows the defaults the parser fills in", () => {
        const { settings } = parseConfig({
            target: { accountId: "111122223333" },
            stagingAccounts: [
                { accountId: "444455556666", region: "us-east-1", replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0" } },
            ],
        });
        const value = (x: unknown) => `\`${typeof x === "string" ? x : JSON.stringify(x)}\``;
        const replication = settings.stagingAccounts[0].replication!;
        const expected: [string, string][] = [
            ["deploy", value(settings.deploy)],
            ["key.deletionWindowInDays", value(settings.key.deletionWindowInDays)],
            ["key.alias", value(settings.key.alias)],
            ["key.protect", value(settings.key.protect)],
            ["key.targetAccess", value(settings.key.targetAccess)],
            ["target.maxPoliciesPerRole", value(settings.target.maxPoliciesPerRole)],
            ["target.keyUserRoleNames", value(settings.target.keyUserRoleNames)],
            ["tags", value(settings.tags)],
            ["alerts.enabled", value(settings.alerts.enabled)],
            ["stagingAccounts[].stagingRole", value(settings.stagingAccounts[0].stagingRole)],
            ["stagingAccounts[].replication.pitRetentionDays", value(replication.pitRetentionDays)],
            ["stagingAccounts[].replication.replicationServerInstanceType", value(replication.replicationServerInstanceType)],
            ["stagingAccounts[].replication.replicationServersSecurityGroupsIds", value(replication.replicationServersSecurityGroupsIds)],
            ["stagingAccounts[].replication.stagingAreaTags", value(replication.stagingAreaTags)],
            ["stagingAccounts[].replication.autoReplicateNewDisks", "DRS's"],
            ["stagingAccounts[].replication.stagingAreaSubnetId", "required with `replication`"],
            ["target.accountId", "required"],
            ["target.roleArn", "none"],
            ["target.launch[].osByol", "DRS's"],
            ["identityCenter.instanceArn", "required with `identityCenter`"],
            ["pricing", "none"],
        ];
        expect(settings.target.roleArn).to.equal(undefined);
        expect(replication.autoReplicateNewDisks).to.equal(undefined);
        expect(expected.map(([key]) => [key, row(key)[1]])).to.deep.equal(expected);
    });

    it("links to pages and sections that exist", () => {
        const links = [...table.matchAll(/\]\(([^)]*)\)/g)].map(([, link]) => link);
        expect(links).to.include("align-servers.md");
        for (const link of links) {
            const [page, section] = link.split("#");
            const file = path.join(docsDir, page || "configuration.md");
            if (page) expect(fs.existsSync(file), link).to.equal(true);
            if (section !== undefined) expect(anchorsOf(file), link).to.include(section);
        }
    });
});
