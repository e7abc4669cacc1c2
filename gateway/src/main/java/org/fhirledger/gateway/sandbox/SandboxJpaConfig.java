package org.fhirledger.gateway.sandbox;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.model.sched.IHapiScheduler;
import ca.uhn.fhir.jpa.model.sched.ISchedulerService;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.provider.JpaSystemProvider;
import ca.uhn.fhir.jpa.sched.ClusteredHapiScheduler;
import ca.uhn.fhir.jpa.sched.HapiSchedulerServiceImpl;
import ca.uhn.fhir.jpa.sched.LocalHapiScheduler;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.ETagSupportEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import java.nio.file.Path;
import java.util.Properties;
import javax.sql.DataSource;
import org.apache.commons.dbcp2.BasicDataSource;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * Spring configuration of the sandbox EHR's own application context, registered explicitly by
 * {@link SandboxEhr}.
 *
 * <p>It is deliberately NOT annotated {@code @Configuration} (nor any other stereotype): this package lies
 * under the gateway's {@code @SpringBootApplication} package, and a stereotype would make the gateway's
 * component scan pull all of HAPI JPA into the gateway's own context. Spring still processes the
 * {@code @Import} and {@code @Bean} methods of a class registered explicitly ("lite" configuration mode).
 *
 * <p>What is imported and why:
 * <ul>
 *   <li>{@link JpaR4Config}: the R4 FhirContext, DAOs, resource providers (incl. Patient {@code $everything}),
 *       system DAO / {@link JpaSystemProvider} (transaction, batch, system history, {@code $meta}).</li>
 *   <li>{@link HapiJpaConfig}: search services, stale search cleanup, {@link DatabaseBackedPagingProvider}.</li>
 *   <li>{@link JpaBatch2Config} + {@link Batch2JobsConfig}: several core JPA beans (reindex, $merge,
 *       delete-expunge, replace-references) depend on the batch2 job coordinator.</li>
 *   <li>{@link SubscriptionChannelConfig}: the in-JVM message broker that batch2 uses for work notifications
 *       (no external broker; subscriptions themselves are not enabled).</li>
 *   <li>{@link ThreadPoolFactoryConfig}: thread pools the transaction processor needs.</li>
 * </ul>
 */
@Import({
  JpaR4Config.class,
  HapiJpaConfig.class,
  JpaBatch2Config.class,
  Batch2JobsConfig.class,
  SubscriptionChannelConfig.class,
  ThreadPoolFactoryConfig.class
})
class SandboxJpaConfig {

  /** Property names set by {@link SandboxEhr} in the context's environment. */
  static final String PROP_DB_DIR = "sandbox.ehr.db-dir";
  static final String PROP_INSTANCE = "sandbox.ehr.instance";

  @Bean
  JpaStorageSettings storageSettings() {
    JpaStorageSettings s = new JpaStorageSettings();
    // A sandbox EHR: conditional delete may match several resources (FHIR allows it; servers may refuse).
    s.setAllowMultipleDelete(true);
    // HAPI by default re-serves an identical search from a cache for 60 s, so a search issued right after a
    // create would not see the new resource. A test EHR must be read-your-writes: disable the reuse.
    s.setReuseCachedSearchResultsForMillis(null);
    // No Hibernate Search / Lucene: plain SQL indexes only.
    s.setAdvancedHSearchIndexing(false);
    s.setHibernateSearchIndexSearchParams(false);
    // Client-assigned ids of any form (PUT Patient/123 as well as PUT Patient/abc), as lab and EHR feeds send them
    // (the Inferno reference bundles PUT numeric ids). HAPI allows numeric client ids only when it assigns its own
    // ids as UUIDs, so they cannot collide.
    s.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ANY);
    s.setResourceServerIdStrategy(JpaStorageSettings.IdStrategyEnum.UUID);
    s.setExpungeEnabled(false);
    // A Provenance names the version it describes, and it must not pin that resource forever: deleting a resource
    // that has Provenance is allowed (the Provenance stays, pointing at the history), as in most EHRs.
    s.setEnforceReferentialIntegrityOnDeleteDisableForPaths(java.util.Set.of("Provenance.target"));
    // HAPI treats a reference to a deleted resource as dangling and would refuse the Provenance of a delete (whose
    // target is the deletion's version). HAPI has no per-path switch for writes, so the sandbox accepts references it
    // cannot resolve, as many EHRs do; an EHR that refuses them keeps the deletion on the ledger only.
    s.setEnforceReferentialIntegrityOnWrite(false);
    s.setEnableTaskBulkExportJobExecution(false);
    s.setEnableTaskBulkImportJobExecution(false);
    return s;
  }

  @Bean
  PartitionSettings partitionSettings() {
    return new PartitionSettings();
  }

  @Bean(destroyMethod = "close")
  DataSource dataSource(@Value("${" + PROP_DB_DIR + "}") String dbDir) {
    BasicDataSource ds = new BasicDataSource();
    ds.setDriverClassName("org.h2.Driver");
    // File DB; the JVM-exit hook of H2 is off because close() shuts the pool (and hence the DB) down in order.
    ds.setUrl("jdbc:h2:file:" + Path.of(dbDir).resolve("hapi").toAbsolutePath() + ";DB_CLOSE_ON_EXIT=FALSE");
    ds.setUsername("sa");
    ds.setPassword("");
    ds.setMaxTotal(10);
    ds.setMaxIdle(4);
    ds.setMinIdle(0);
    ds.setMaxWait(java.time.Duration.ofSeconds(30));
    return ds;
  }

  @Primary
  @Bean
  LocalContainerEntityManagerFactoryBean entityManagerFactory(
      ConfigurableListableBeanFactory beanFactory,
      FhirContext fhirContext,
      JpaStorageSettings storageSettings,
      DataSource dataSource) {
    LocalContainerEntityManagerFactoryBean emf =
        HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
    emf.setPersistenceUnitName("SANDBOX_EHR_PU");
    emf.setDataSource(dataSource);
    Properties p = new Properties();
    p.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
    // Creates the schema in an empty DB on first start; on later starts it only checks and keeps the data.
    p.put("hibernate.hbm2ddl.auto", "update");
    p.put("hibernate.search.enabled", "false");
    p.put("hibernate.show_sql", "false");
    p.put("hibernate.format_sql", "false");
    p.put("hibernate.jdbc.batch_size", "20");
    p.put("hibernate.cache.use_query_cache", "false");
    p.put("hibernate.cache.use_second_level_cache", "false");
    p.put("hibernate.cache.use_minimal_puts", "false");
    emf.setJpaProperties(p);
    return emf;
  }

  @Primary
  @Bean
  JpaTransactionManager transactionManager(EntityManagerFactory emf) {
    return new JpaTransactionManager(emf);
  }

  /**
   * HAPI's scheduler service names its Quartz schedulers after a fixed thread prefix; Quartz keeps schedulers
   * in a JVM-wide repository by name, so two sandboxes in one JVM would collide. Give each its own prefix.
   */
  @Bean
  ISchedulerService schedulerService(@Value("${" + PROP_INSTANCE + "}") String instance) {
    String prefix = "sandbox-ehr-" + instance + "-scheduler";
    return new HapiSchedulerServiceImpl() {
      @Override
      protected IHapiScheduler getLocalHapiScheduler() {
        return new LocalHapiScheduler(prefix, mySchedulerJobFactory);
      }

      @Override
      protected IHapiScheduler getClusteredScheduler() {
        return new ClusteredHapiScheduler(prefix, mySchedulerJobFactory);
      }
    }.setDefaultGroup("sandbox-ehr-" + instance);
  }

  @Bean
  RestfulServer restfulServer(
      IFhirSystemDao<?, ?> systemDao,
      ResourceProviderFactory resourceProviderFactory,
      JpaSystemProvider<?, ?> systemProvider,
      JpaStorageSettings storageSettings,
      ISearchParamRegistry searchParamRegistry,
      IValidationSupport validationSupport,
      DatabaseBackedPagingProvider pagingProvider) {
    FhirContext ctx = systemDao.getContext();
    ctx.setNarrativeGenerator(null);
    // HAPI strips versions from references when it stores and serves resources; a Provenance's target must keep
    // the version it describes.
    ctx.getParserOptions().setDontStripVersionsFromReferencesAtPaths("Provenance.target");
    RestfulServer server = new RestfulServer(ctx);
    server.setServerName("fhir-ledger sandbox EHR");
    // Resource providers for every R4 type, incl. Patient/$everything, $meta, $validate, history, patch.
    server.registerProviders(resourceProviderFactory.createProviders());
    // Transaction/batch bundles, system history, system $meta.
    server.registerProvider(systemProvider);
    JpaCapabilityStatementProvider cs = new JpaCapabilityStatementProvider(
        server, systemDao, storageSettings, searchParamRegistry, validationSupport);
    cs.setImplementationDescription("fhir-ledger sandbox EHR (HAPI FHIR JPA, H2)");
    server.setServerConformanceProvider(cs);
    // next/previous links page through search results stored in the database.
    pagingProvider.setDefaultPageSize(20);
    pagingProvider.setMaximumPageSize(200);
    server.setPagingProvider(pagingProvider);
    server.setETagSupport(ETagSupportEnum.ENABLED);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);
    server.setDefaultPrettyPrint(false);
    return server;
  }
}
