package org.fhirledger.gateway;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The FHIR ledger gateway.
 *
 * <p>The embedded sandbox EHR (HAPI's JPA server) puts Hibernate, Flyway, Quartz, Elasticsearch's
 * client, Thymeleaf and springdoc on the classpath. The sandbox configures what it needs in its own
 * context; the gateway's context must not auto-configure any of them (no stray in-memory database,
 * no search-cluster sniffer, no Swagger UI on the public port), so they are excluded here.
 * Spring Security's generated user and Spring Authorization Server's defaults are excluded too: the
 * embedded authorization server (auth.server) configures itself, with clients from its own file.
 */
@SpringBootApplication(
    excludeName = {
      "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration",
      "org.springframework.boot.autoconfigure.jdbc.DataSourceTransactionManagerAutoConfiguration",
      "org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration",
      "org.springframework.boot.autoconfigure.data.jpa.JpaRepositoriesAutoConfiguration",
      "org.springframework.boot.autoconfigure.data.web.SpringDataWebAutoConfiguration",
      "org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration",
      "org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration",
      "org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration",
      "org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration",
      "org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration",
      "org.springframework.boot.autoconfigure.data.elasticsearch.ElasticsearchDataAutoConfiguration",
      "org.springframework.boot.autoconfigure.data.elasticsearch.ElasticsearchRepositoriesAutoConfiguration",
      "org.springframework.boot.autoconfigure.websocket.servlet.WebSocketServletAutoConfiguration",
      "org.springframework.boot.autoconfigure.websocket.servlet.WebSocketMessagingAutoConfiguration",
      "org.springframework.boot.autoconfigure.security.servlet.UserDetailsServiceAutoConfiguration",
      "org.springframework.boot.autoconfigure.security.oauth2.server.servlet.OAuth2AuthorizationServerAutoConfiguration",
      "org.springframework.boot.autoconfigure.security.oauth2.server.servlet.OAuth2AuthorizationServerJwtAutoConfiguration",
    })
public class GatewayApplication {
  public static void main(String[] args) {
    SpringApplication.run(GatewayApplication.class, args);
  }
}
