with encoded as (
    select
        lead_id,
        workspace_id,
        score,
        has_email,
        coalesce(list_position(['o''brien; drop table x --']::VARCHAR[], source_key), 0) as source_key,
        coalesce(list_position(['us']::VARCHAR[], country_key), 0) as country_key,
        coalesce(list_position(['ceo', 'founder']::VARCHAR[], role_key), 0) as role_key,
        coalesce(list_position(['1000+', '201-1000']::VARCHAR[], company_size_key), 0) as company_size_key,
        coalesce(list_position(['saas']::VARCHAR[], industry_key), 0) as industry_key,
        tag_keys
    from staging.stg_leads
),

tag_sets as (
    select
        tag_keys,
        (13::UBIGINT | list_reduce(list_transform(tag_codes, t -> [2::UBIGINT, 2::UBIGINT][t]), (a, b) -> a | b, 0::UBIGINT)) as tags_0
    from (
        select tag_keys, list_filter(list_transform(tag_keys, t -> list_position(['webinar', '{{ 7*7 }}']::VARCHAR[], t)), t -> t IS NOT NULL) as tag_codes
        from (select distinct tag_keys from encoded)
    )
),

lead_masks as (
    select
        lead_id,
        workspace_id,
        ([13::UBIGINT, 15::UBIGINT][source_key + 1]
        & [14::UBIGINT, 15::UBIGINT][country_key + 1]
        & [14::UBIGINT, 15::UBIGINT, 15::UBIGINT][role_key + 1]
        & [7::UBIGINT, 15::UBIGINT, 15::UBIGINT][company_size_key + 1]
        & [14::UBIGINT, 15::UBIGINT][industry_key + 1]
        & tags_0
        & CASE WHEN isnan(score) THEN 6::UBIGINT WHEN score >= 60 THEN 15::UBIGINT WHEN score >= 35.5 THEN 14::UBIGINT ELSE 6::UBIGINT END
        & CASE WHEN has_email THEN 7::UBIGINT ELSE 14::UBIGINT END
        & CASE workspace_id WHEN 1 THEN 11::UBIGINT WHEN 2 THEN 14::UBIGINT ELSE 10::UBIGINT END) as mask_0
    from encoded
    join tag_sets using (tag_keys)
),

word_0 as (
    select mask_0, CAST(list_filter([CASE WHEN mask_0 & 1::UBIGINT <> 0 THEN 1 END, CASE WHEN mask_0 & 2::UBIGINT <> 0 THEN 2 END, CASE WHEN mask_0 & 4::UBIGINT <> 0 THEN 3 END, CASE WHEN mask_0 & 8::UBIGINT <> 0 THEN 5 END], id -> id IS NOT NULL) AS USMALLINT[]) as ids_0
    from (select distinct mask_0 from lead_masks)
)

select
    lead_id,
    workspace_id,
    ids_0 as segment_ids
from lead_masks
join word_0 using (mask_0)
