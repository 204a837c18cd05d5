package dev.gantry.operator.monitoring;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.LabelSelector;
import java.util.List;

/** The part of a ServiceMonitor's spec Gantry sets; the rest of what the server returns is ignored. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class ServiceMonitorSpec {
    /** Which Services to scrape. */
    public LabelSelector selector;

    /** How to scrape each selected Service. */
    public List<Endpoint> endpoints;

    /** One scrape target of a ServiceMonitor. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Endpoint {
        /** The Service port's name. */
        public String port;

        public String path;

        public String interval;
    }
}
