import { parseProviders, type ProviderInfo } from '../src/lib/providers';
import answer from './testdata/providers.json';

/**
 * What GET /api/providers answers, parsed as the dashboard parses it.
 * testdata/providers.json is the Go server's own answer ({types:
 * Registry.Info()} of the registry pkg/bootstrap builds), so the tests
 * build their forms from what a real server sends.
 */
export const serverProviders: ProviderInfo[] = parseProviders(answer);

/** The server's description of one gateway type. */
export const providerInfo = (type: string): ProviderInfo => serverProviders.find((p) => p.type === type)!;
