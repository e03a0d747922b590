-- ValuAI phase 3 (advanced features): AI model performance tracking and data
-- integrations ('quickbooks', 'stripe', 'salesforce'; status 'success', 'failed',
-- 'partial' per the seed, not enforced so new integrations need no migration).

CREATE TABLE ai_model_performance (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_version varchar(50),
    prediction_accuracy numeric(7, 4),
    valuation_id uuid,
    actual_value numeric(15, 2),
    predicted_value numeric(15, 2),
    evaluation_date timestamptz DEFAULT now(),
    CONSTRAINT pk_ai_model_performance PRIMARY KEY (id),
    CONSTRAINT fk_ai_model_performance_valuation_id FOREIGN KEY (valuation_id)
    REFERENCES valuations (id) ON DELETE SET NULL
);

CREATE INDEX idx_ai_model_performance_valuation_id
ON ai_model_performance (valuation_id);

CREATE TABLE data_integrations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid,
    integration_type varchar(50),
    last_sync timestamptz,
    sync_status varchar(20),
    error_message text,
    CONSTRAINT pk_data_integrations PRIMARY KEY (id),
    CONSTRAINT fk_data_integrations_company_id FOREIGN KEY (company_id)
    REFERENCES companies (id)
);

CREATE INDEX idx_data_integrations_company_id
ON data_integrations (company_id, integration_type);
