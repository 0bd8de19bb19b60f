import type { PrismaDb } from '../db/client';
import { mapErrors } from '../db/errors';
import { conflict, notFound } from '../errors';
import type { AgentManifest, Prisma } from '../generated/prisma/client';
import { type Page, type PageRequest, toPage } from '../graphql/pagination';
import type { CreateManifestInput, UpdateManifestInput } from './manifest.input';

/**
 * The agent types (shared by all tenants). Operators write them; every role reads them.
 * Prisma Client; registration creates missing manifests in SQL (mcp.register_agent_instance).
 */
export class ManifestService {
  constructor(private readonly prisma: PrismaDb) {}

  /** Ordered by agentId. */
  async list(page: PageRequest, filter: { agentType?: string | null } = {}): Promise<Page<AgentManifest>> {
    const where: Prisma.AgentManifestWhereInput = filter.agentType != null ? { agentType: filter.agentType } : {};
    return mapErrors(async () => {
      const rows = await this.prisma.agentManifest.findMany({
        where: page.afterKey !== null ? { ...where, agentId: { gt: page.afterKey } } : where,
        orderBy: { agentId: 'asc' },
        take: page.limit + 1,
      });
      const count = await this.prisma.agentManifest.count({ where });
      return toPage(rows, page, count, (m) => m.agentId);
    });
  }

  /** The manifest of `agentId`, or null. */
  async find(agentId: string): Promise<AgentManifest | null> {
    return mapErrors(() => this.prisma.agentManifest.findUnique({ where: { agentId } }));
  }

  /** CONFLICT when the agentId exists. */
  async create(input: CreateManifestInput): Promise<AgentManifest> {
    // insert … on conflict do nothing returning: an existing agentId is an empty result, not an error
    const [manifest] = await mapErrors(() =>
      this.prisma.agentManifest.createManyAndReturn({
        data: {
          agentId: input.agentId,
          agentType: input.agentType,
          name: input.name,
          description: input.description ?? undefined,
          capabilities: input.capabilities ?? undefined,
          version: input.version ?? undefined,
        },
        skipDuplicates: true,
      }),
    );
    if (!manifest) throw conflict(`a manifest with agentId ${input.agentId} already exists`, { field: 'agentId' });
    return manifest;
  }

  /** Writes the given fields; NOT_FOUND for an unknown agentId. */
  async update(input: UpdateManifestInput): Promise<AgentManifest> {
    const [manifest] = await mapErrors(() =>
      this.prisma.agentManifest.updateManyAndReturn({
        where: { agentId: input.agentId },
        data: {
          agentType: input.agentType ?? undefined,
          name: input.name ?? undefined,
          description: input.description ?? undefined,
          capabilities: input.capabilities ?? undefined,
          version: input.version ?? undefined,
          updatedAt: new Date(),
        },
      }),
    );
    if (!manifest) throw notFound(`manifest ${input.agentId}`);
    return manifest;
  }
}
