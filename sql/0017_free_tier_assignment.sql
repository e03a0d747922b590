-- GoodBuy HQ (002) phase 2, user migration: every existing user without a subscription
-- gets the Free plan (002's own INSERT). Each subscription this migration creates is
-- recorded in free_tier_assignments, so the rollback deletes exactly those rows and
-- nothing else (002's seed rollback, which deleted every Free subscription, would also
-- remove Free subscriptions users chose themselves).

CREATE TABLE free_tier_assignments (
    subscription_id uuid NOT NULL,
    user_id uuid NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_free_tier_assignments PRIMARY KEY (subscription_id),
    CONSTRAINT fk_free_tier_assignments_subscription_id FOREIGN KEY (subscription_id)
    REFERENCES user_subscriptions (id) ON DELETE CASCADE
);

COMMENT ON TABLE free_tier_assignments IS
'Subscriptions created by migration 0017 (free tier for existing users); its rollback deletes exactly these.';

WITH assigned AS (
    INSERT INTO user_subscriptions (
        user_id, plan_id, status, current_period_start, current_period_end
    )
    SELECT
        u.id AS user_id,
        (
            SELECT sp.id FROM subscription_plans AS sp
            WHERE sp.name = 'Free'
            ORDER BY sp.created_at, sp.id
            LIMIT 1
        ) AS plan_id,
        'active' AS status,
        now() AS current_period_start,
        now() + interval '1 year' AS current_period_end
    FROM users AS u
    WHERE NOT EXISTS (
            SELECT 1 FROM user_subscriptions AS us
            WHERE us.user_id = u.id
        )
    RETURNING id, user_id
)

INSERT INTO free_tier_assignments (subscription_id, user_id)
SELECT
    assigned.id,
    assigned.user_id
FROM assigned;
