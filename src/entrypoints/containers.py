"""Composition roots: dependency-injector containers split by role, joined per process.

    CoreContainer       settings, clock, version
    StorageContainer    the database engine (a Resource), the secrets' cipher (from the key
                        in the settings) and the unit-of-work factory
    UseCasesContainer   one factory per use case, wired to the ports it needs
    ApiContainer        the `api` process: HTTP + outbox relay to Kafka
    WorkerContainer     the `worker` process: Kafka consumer + processing + stale-task recovery
    EmbeddedContainer   one process: API + in-process queue + worker + relay on SQLite

Tests override providers (say, `storage`) instead of patching modules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import SystemClock
from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.kafka import KafkaTaskConsumer, KafkaTaskPublisher
from adapters.memory import InMemoryUnitOfWorkFactory, InProcessTaskQueue
from adapters.process import ProcessPool
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.health import DatabaseProbe
from adapters.trino.statistics import TrinoStatisticsReader
from adapters.verify.duckdb_verifier import DuckDbVerifier
from adapters.verify.trino_verifier import TrinoVerifier, scratch_from_url
from application.ports.analyzer import Analyzer
from application.ports.task_queue import TaskPublisher
from application.ports.verifier import Verifier
from application.refinement.guarded_analyzer import GuardedAdvisorAnalyzer
from application.use_cases.count_tasks import CountTasks
from application.use_cases.get_task_result import GetTaskResult
from application.use_cases.get_task_status import GetTaskStatus
from application.use_cases.process_task import ProcessTask
from application.use_cases.relay_outbox import RelayOutbox
from application.use_cases.requeue_stale_tasks import RequeueStaleTasks
from application.use_cases.submit_task import SubmitTask
from application.use_cases.sweep_expired_secrets import SweepExpiredSecrets
from application.verification.statistics_memo import RememberingStatisticsReader
from application.verification.verified_analyzer import VerifiedAnalyzer
from entrypoints.instrumentation import InstrumentedAdvisor, InstrumentedAnalyzer
from entrypoints.logs import configure_logging
from entrypoints.secret_key import cipher_from_settings
from entrypoints.settings import Settings, service_version

__all__ = [
    "ApiContainer",
    "CoreContainer",
    "EmbeddedContainer",
    "MemoryStorageContainer",
    "StorageContainer",
    "UseCasesContainer",
    "WorkerContainer",
    "analysis_pool",
    "analyzer_from_settings",
]

# Imported once by the fork server, so that each analysis process starts warm.
_PRELOAD = ("domain.analysis", "adapters.verify.duckdb_verifier", "adapters.verify.trino_verifier")


async def database_engine(url: str, pool_size: int = 20) -> AsyncIterator[AsyncEngine]:
    # No overflow: a connection opened for a burst was closed again as soon as it was given
    # back, so a load a little over `pool_size` opened (with its TLS attempt) and closed a
    # connection for every few requests, which cost more CPU than the requests themselves
    # (bench/api_load.py). A request that finds none free waits for one instead.
    engine = create_engine(url, pool_size=pool_size, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


def analysis_pool(settings: Settings) -> Iterator[ProcessPool | None]:
    """The processes of `Settings.analysis_processes` (none when 0), stopped with the
    container's resources. Their logs go to stderr in the process's format."""
    if settings.analysis_processes == 0:
        yield None
        return
    pool = ProcessPool(
        settings.analysis_processes,
        initializer=configure_logging,
        initargs=(settings.log_level, settings.log_format, "analysis"),
        preload=_PRELOAD,
        niceness=settings.analysis_niceness,
    )
    try:
        yield pool
    finally:
        pool.close()


def analyzer_from_settings(
    settings: Settings, version: str, pool: ProcessPool | None = None
) -> Analyzer:
    """The rules engine alone, or refined by the LLM advisor when an endpoint or a key is
    configured (`Settings.llm_enabled`), then verified on generated data unless
    `Settings.verify_enabled` is off: the same choice in every process.

    With a `pool`, the CPU-bound steps — the engine and the verification — run in its
    processes, and the rest here: the statistics (they need the task's credentials, which
    never leave this process) and the LLM's refinement (it waits on the network, so many
    tasks wait together on this event loop, and its calls are counted on this /metrics)."""
    statistics = (
        RememberingStatisticsReader(
            TrinoStatisticsReader(
                statement_seconds=settings.statistics_statement_seconds,
                budget_seconds=settings.statistics_budget_seconds,
                ca_bundle=settings.trino_ca_bundle,
            )
        )
        if settings.statistics_enabled
        else None
    )
    rules = RulesAnalyzer(version, statistics, pool=pool)
    analyzer = rules if not settings.llm_enabled else _refined(settings, rules)
    if settings.verify_enabled:
        verifier: Verifier = (
            TrinoVerifier(
                scratch_from_url(settings.verify_trino_url), ca_bundle=settings.trino_ca_bundle
            )
            if settings.verify_trino_url
            else DuckDbVerifier(memory_limit=settings.verify_memory_limit)
        )
        analyzer = VerifiedAnalyzer(
            analyzer,
            verifier,
            rows_per_table=settings.verify_rows_per_table,
            budget_seconds=settings.verify_budget_seconds,
            seed=settings.verify_seed,
            statistics=statistics,
            pool=pool,
        )
    return InstrumentedAnalyzer(analyzer)


def _refined(settings: Settings, rules: Analyzer) -> Analyzer:
    # Imported here: langchain takes seconds to import, which every process and every
    # `dbanalysis analyze` would pay even with the LLM off.
    from adapters.llm import LangChainAdvisor

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    advisor = LangChainAdvisor(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        temperature=settings.llm_temperature,
        timeout_seconds=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        method=settings.llm_structured_output_method,
    )
    return GuardedAdvisorAnalyzer(
        rules,
        InstrumentedAdvisor(advisor),
        budget_seconds=settings.llm_budget_seconds,
        max_queries=settings.llm_max_queries,
    )


class CoreContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    version = providers.Singleton(service_version)


class StorageContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    engine = providers.Resource(
        database_engine,
        url=settings.provided.database_url,
        pool_size=settings.provided.database_pool_size,
    )
    cipher = providers.Singleton(cipher_from_settings, settings)
    uow_factory = providers.Singleton(SqlAlchemyUnitOfWorkFactory, engine, cipher)
    probes = providers.Callable(lambda engine: (DatabaseProbe(engine),), engine)


class MemoryStorageContainer(containers.DeclarativeContainer):
    """Storage in memory, for tests: the same ports, nothing on disk (its secrets are
    encrypted with a key of its own, which dies with it)."""

    settings = providers.Dependency(instance_of=Settings)
    uow_factory = providers.Singleton(InMemoryUnitOfWorkFactory)
    probes = providers.Object(())


class UseCasesContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    publisher: providers.Dependency[TaskPublisher] = providers.Dependency()
    analyzer: providers.Dependency[Analyzer] = providers.Dependency()

    submit = providers.Factory(
        SubmitTask,
        uow_factory=storage.uow_factory,
        clock=core.clock,
        max_attempts=settings.provided.max_attempts,
    )
    get_status = providers.Factory(GetTaskStatus, uow_factory=storage.uow_factory)
    get_result = providers.Factory(GetTaskResult, uow_factory=storage.uow_factory)
    count_tasks = providers.Factory(CountTasks, uow_factory=storage.uow_factory)
    process = providers.Factory(
        ProcessTask,
        uow_factory=storage.uow_factory,
        analyzer=analyzer,
        clock=core.clock,
        lease=providers.Factory(timedelta, seconds=settings.provided.lease_seconds),
    )
    relay = providers.Factory(
        RelayOutbox, uow_factory=storage.uow_factory, publisher=publisher, clock=core.clock
    )
    requeue = providers.Factory(
        RequeueStaleTasks, uow_factory=storage.uow_factory, clock=core.clock
    )
    sweep_secrets = providers.Factory(
        SweepExpiredSecrets,
        uow_factory=storage.uow_factory,
        clock=core.clock,
        ttl=providers.Factory(timedelta, seconds=settings.provided.secret_ttl_seconds),
    )


async def kafka_publisher(settings: Settings) -> AsyncIterator[KafkaTaskPublisher]:
    publisher = KafkaTaskPublisher(settings.kafka_bootstrap_servers, settings.kafka_topic)
    await publisher.start()  # connects in the background; the API starts while Kafka is down
    try:
        yield publisher
    finally:
        await publisher.stop()


async def kafka_consumer(settings: Settings) -> AsyncIterator[KafkaTaskConsumer]:
    consumer = KafkaTaskConsumer(
        settings.kafka_bootstrap_servers,
        settings.kafka_topic,
        settings.kafka_group,
        # A worker busy with one task for up to its lease must not be dropped from the group.
        max_poll_interval_ms=int(settings.lease_seconds * 1000),
        concurrency=settings.worker_concurrency,
    )
    try:
        yield consumer
    finally:
        await consumer.stop()


class ApiContainer(containers.DeclarativeContainer):
    """The `api` process: HTTP, and the outbox relay publishing to Kafka."""

    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(CoreContainer, settings=settings)
    storage = providers.Container(StorageContainer, settings=settings)
    publisher = providers.Resource(kafka_publisher, settings=settings)
    # The API analyses nothing: its analyzer (never called) needs no processes.
    analyzer = providers.Singleton(analyzer_from_settings, settings=settings, version=core.version)
    use_cases = providers.Container(
        UseCasesContainer,
        settings=settings,
        core=core,
        storage=storage,
        publisher=publisher,
        analyzer=analyzer,
    )


class WorkerContainer(ApiContainer):
    """The `worker` process: what the API has (its relay publishes requeued tasks), plus the
    Kafka consumer that feeds ProcessTask."""

    consumer = providers.Resource(kafka_consumer, settings=ApiContainer.settings)
    pool = providers.Resource(analysis_pool, settings=ApiContainer.settings)
    analyzer = providers.Singleton(
        analyzer_from_settings,
        settings=ApiContainer.settings,
        version=ApiContainer.core.version,
        pool=pool,
    )
    # Declared again: the inherited one is wired to the API's analyzer.
    use_cases = providers.Container(
        UseCasesContainer,
        settings=ApiContainer.settings,
        core=ApiContainer.core,
        storage=ApiContainer.storage,
        publisher=ApiContainer.publisher,
        analyzer=analyzer,
    )


class EmbeddedContainer(containers.DeclarativeContainer):
    """API, worker and relay in one process, on an in-process queue."""

    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(CoreContainer, settings=settings)
    storage = providers.Container(StorageContainer, settings=settings)
    queue = providers.Singleton(InProcessTaskQueue)
    pool = providers.Resource(analysis_pool, settings=settings)
    analyzer = providers.Singleton(
        analyzer_from_settings, settings=settings, version=core.version, pool=pool
    )
    use_cases = providers.Container(
        UseCasesContainer,
        settings=settings,
        core=core,
        storage=storage,
        publisher=queue,
        analyzer=analyzer,
    )
