// The app registry from the CLI: publish an app (a file's SHA-256 or a hash, a URI such as a CID, a
// price, payees and shares), list and show apps, and buy one (or extend a subscription).
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { appCount, buyApp, getApp, licenseOf, publishApp, type AppInfo } from '../../client/apps.js';
import { formatBcr, fromHex, parseAddress, parseBcr, sha256, toChecksumAddress } from '../../primitives/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { DEFAULT_RPC_URL } from '../../client/rpc.js';
import { unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';

function payeeOption(value: string, previous: { account: string; shareBps: number }[] = []): { account: string; shareBps: number }[] {
  const match = /^(0x[0-9a-fA-F]{40}):(\d{1,5})$/.exec(value);
  if (!match) throw new UsageError(`--payee is ADDRESS:BASIS_POINTS (e.g. 0xabc…:7000), not ${value}`);
  return [...previous, { account: toChecksumAddress(parseAddress(match[1]!)), shareBps: Number(match[2]) }];
}

function describe(app: AppInfo): string {
  const terms = app.periodSlots === 0 ? 'once' : `per ${app.periodSlots} slots`;
  return `#${app.id}  ${app.name} ${app.version}  ${formatBcr(BigInt(app.price))} BCR ${terms}  by ${app.developer}  ${app.sales} sold${app.uri ? `  ${app.uri}` : ''}`;
}

export function registerApp(program: Command): void {
  const app = program.command('app').description('the app registry: developers publish apps and are paid, users buy or subscribe');

  withSenderOptions(app.command('publish').description('publish an app; the price is split to the payees on every sale'))
    .requiredOption('--from <address>', 'the developer (its key must be in the keystore)')
    .requiredOption('--name <name>', 'the app name (1-64 bytes)')
    .requiredOption('--app-version <version>', 'the version (1-32 bytes)')
    .option('--file <file>', 'the release file: its SHA-256 is recorded')
    .option('--hash <hash>', 'the release content hash (0x + 64 hex) instead of --file')
    .option('--uri <uri>', 'where to fetch it, e.g. ipfs://CID', '')
    .requiredOption('--price <bcr>', 'the price in BCR (e.g. 2.5)')
    .option('--period <slots>', 'a subscription period in slots (0: bought once)', '0')
    .option('--payee <address:bps>', 'a payee and its share in basis points (repeat; shares add up to 10000; default: the developer takes all)', payeeOption)
    .option('--json', 'machine-readable output')
    .action(async (opts: SenderOptions & { from: string; name: string; appVersion: string; file?: string; hash?: string; uri: string; price: string; period: string; payee?: { account: string; shareBps: number }[]; json?: boolean }) => {
      if (!opts.file === !opts.hash) throw new UsageError('give --file or --hash (one of them)');
      if (opts.file && !existsSync(opts.file)) throw new UsageError(`no file ${opts.file}`);
      if (opts.hash && !/^0x[0-9a-fA-F]{64}$/.test(opts.hash)) throw new UsageError('--hash is 0x and 64 hex digits');
      const contentHash = opts.file ? sha256(readFileSync(opts.file)) : fromHex(opts.hash!);
      const sender = await unlockSender(opts, opts.from);
      const payees = opts.payee ?? [{ account: sender.address, shareBps: 10_000 }];
      const result = await publishApp(opts.rpc, sender, { name: opts.name, version: opts.appVersion, contentHash, uri: opts.uri, price: parseBcr(opts.price), periodSlots: parseIntOption(opts.period, '--period'), payees });
      if (opts.json) return printJson(result);
      console.log(`published app #${result.id} (${opts.name} ${opts.appVersion}) in block ${result.height}`);
    });

  app
    .command('list')
    .description('every published app')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; json?: boolean }) => {
      const count = await appCount(opts.rpc);
      const apps: AppInfo[] = [];
      for (let id = 0; id < count; id++) {
        const found = await getApp(opts.rpc, id);
        if (found) apps.push(found);
      }
      if (opts.json) return printJson(apps);
      if (apps.length === 0) console.log('no apps published yet');
      for (const a of apps) console.log(describe(a));
    });

  app
    .command('show')
    .description("an app's listing, payees and, with --user, that user's license")
    .argument('<id>', 'the app id')
    .option('--user <address>', 'show this address\'s license')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { rpc: string; user?: string; json?: boolean }) => {
      const id = parseIntOption(idText, 'id');
      const found = await getApp(opts.rpc, id);
      if (!found) throw new UsageError(`no app ${id}`);
      const license = opts.user ? await licenseOf(opts.rpc, id, toChecksumAddress(parseAddress(opts.user))) : undefined;
      if (opts.json) return printJson({ ...found, ...(license !== undefined ? { license } : {}) });
      console.log(describe(found));
      console.log(`content ${found.contentHash}  published in block ${found.publishedHeight}, updated in block ${found.updatedHeight}`);
      for (const p of found.payees) console.log(`  payee ${p.account}  ${(p.shareBps / 100).toFixed(2)}%`);
      if (license !== undefined) console.log(license === null ? `  ${opts.user} has no license` : license === 'forever' ? `  ${opts.user} owns it` : `  ${opts.user} is licensed until slot ${license}`);
    });

  withSenderOptions(app.command('buy').description('buy an app at its current price (or extend a subscription); the payees are paid in the same tx'))
    .argument('<id>', 'the app id')
    .requiredOption('--from <address>', 'the buyer (its key must be in the keystore)')
    .option('--for <address>', 'license another address')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: SenderOptions & { from: string; for?: string; json?: boolean }) => {
      const id = parseIntOption(idText, 'id');
      const sender = await unlockSender(opts, opts.from);
      const result = await buyApp(opts.rpc, sender, id, opts.for ? toChecksumAddress(parseAddress(opts.for)) : undefined);
      if (opts.json) return printJson({ ...result, price: result.price.toString() });
      console.log(`bought app #${id} for ${formatBcr(result.price)} BCR in block ${result.height}: licensed ${result.until === 'forever' ? 'forever' : `until slot ${result.until}`}`);
    });
}
