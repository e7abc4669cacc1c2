package org.fhirledger.gateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.model.sched.ISchedulerService;
import org.fhirledger.gateway.GatewayApplication;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationContext;

/**
 * The gateway's own Boot context must start with hapi-fhir-jpaserver-base on the classpath and must not pick up
 * any sandbox / HAPI JPA beans, nor the auto-configurations that only HAPI's transitive libraries trigger.
 */
@SpringBootTest(classes = GatewayApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GatewayContextIsolationTest {

  @Autowired ApplicationContext gateway;

  @Test
  void gatewayContextHasNoHapiJpaBeans() {
    assertEquals(0, gateway.getBeanNamesForType(DaoRegistry.class).length);
    assertEquals(0, gateway.getBeanNamesForType(IFhirSystemDao.class).length);
    assertEquals(0, gateway.getBeanNamesForType(ISchedulerService.class).length);
    assertEquals(0, gateway.getBeanNamesForType(org.quartz.Scheduler.class).length, "Quartz auto-config");
    assertEquals(0, gateway.getBeanNamesForType(org.elasticsearch.client.RestClient.class).length, "ES client");
    assertEquals(0, gateway.getBeanNamesForType(org.flywaydb.core.Flyway.class).length, "Flyway");
    // The two below document today's state (the gateway has no database yet). When the gateway gets its own
    // DataSource/JPA unit, drop them: the point of this test is that none of HAPI's leak in.
    assertEquals(0, gateway.getBeanNamesForType(jakarta.persistence.EntityManagerFactory.class).length, "JPA");
    assertEquals(0, gateway.getBeanNamesForType(javax.sql.DataSource.class).length, "DataSource");
  }
}
