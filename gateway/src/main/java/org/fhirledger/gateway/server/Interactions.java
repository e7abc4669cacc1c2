package org.fhirledger.gateway.server;

import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import org.hl7.fhir.instance.model.api.IIdType;

/** Names the FHIR interaction a request is, from what HAPI parsed of its method and path. */
final class Interactions {
  private Interactions() {}

  /**
   * Whether the interaction may change data in the EHR, and so needs a ledger intent before it is
   * forwarded: every method but GET and HEAD, except searches and validation posted as forms or
   * bodies.
   */
  static boolean isWrite(RequestDetails request, RestOperationTypeEnum operation) {
    RequestTypeEnum method = request.getRequestType();
    if (method == RequestTypeEnum.GET || method == RequestTypeEnum.HEAD || method == RequestTypeEnum.OPTIONS) {
      return false;
    }
    return switch (operation) {
      case SEARCH_TYPE, SEARCH_SYSTEM, GET_PAGE, VALIDATE, METADATA -> false;
      default -> true;
    };
  }

  static RestOperationTypeEnum classify(RequestDetails request) {
    String type = request.getResourceName();
    String operation = request.getOperation();
    IIdType id = request.getId();
    RequestTypeEnum method = request.getRequestType();
    boolean hasId = id != null && id.hasIdPart();

    if (type == null) {
      if (operation == null) {
        if (request.getParameters().containsKey(Constants.PARAM_PAGINGACTION)) {
          return RestOperationTypeEnum.GET_PAGE;
        }
        return method == RequestTypeEnum.POST ? RestOperationTypeEnum.TRANSACTION : RestOperationTypeEnum.SEARCH_SYSTEM;
      }
      if (operation.equals(Constants.URL_TOKEN_METADATA)) {
        return RestOperationTypeEnum.METADATA;
      }
      if (operation.equals(Constants.PARAM_HISTORY)) {
        return RestOperationTypeEnum.HISTORY_SYSTEM;
      }
      if (operation.equals(Constants.PARAM_SEARCH)) {
        return RestOperationTypeEnum.SEARCH_SYSTEM;
      }
      return RestOperationTypeEnum.EXTENDED_OPERATION_SERVER;
    }
    if (operation != null) {
      if (operation.equals(Constants.PARAM_HISTORY)) {
        return hasId ? RestOperationTypeEnum.HISTORY_INSTANCE : RestOperationTypeEnum.HISTORY_TYPE;
      }
      if (operation.equals(Constants.PARAM_SEARCH)) {
        return RestOperationTypeEnum.SEARCH_TYPE;
      }
      if (operation.startsWith("$")) {
        if (operation.equals("$meta")) {
          return RestOperationTypeEnum.META;
        }
        if (operation.equals("$meta-add")) {
          return RestOperationTypeEnum.META_ADD;
        }
        if (operation.equals("$meta-delete")) {
          return RestOperationTypeEnum.META_DELETE;
        }
        if (operation.equals("$validate")) {
          return RestOperationTypeEnum.VALIDATE;
        }
        return hasId ? RestOperationTypeEnum.EXTENDED_OPERATION_INSTANCE : RestOperationTypeEnum.EXTENDED_OPERATION_TYPE;
      }
    }
    return switch (method) {
      case GET, HEAD -> {
        if (!hasId || request.getCompartmentName() != null) {
          yield RestOperationTypeEnum.SEARCH_TYPE;
        }
        yield id.hasVersionIdPart() ? RestOperationTypeEnum.VREAD : RestOperationTypeEnum.READ;
      }
      case POST -> RestOperationTypeEnum.CREATE;
      case PUT -> RestOperationTypeEnum.UPDATE;
      case PATCH -> RestOperationTypeEnum.PATCH;
      case DELETE -> RestOperationTypeEnum.DELETE;
      default -> RestOperationTypeEnum.EXTENDED_OPERATION_TYPE;
    };
  }
}
