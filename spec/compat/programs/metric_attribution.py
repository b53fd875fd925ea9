"""aws-samples next_steps/evaluation/measuring_impact_of_recommendations: an
ECOMMERCE dataset group with a metric attribution (a count of View events
and the sum of ITEMS.MARGIN over Purchase events, published to S3) made
before the imports, two recommenders, an event tracker and events sent
with `metricAttribution.eventAttributionSource`; then Clean_Up_Resources.

As the notebook: the datasets are polled together every 30 s; an existing
attribution of the same name would be deleted first. Left out: the IAM role
(named here).
"""
import datetime
import json
import time
import uuid

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    personalize_events = boto3.client("personalize-events")
    personalize.list_dataset_groups()
    items, inter = compat.retail(seed=19)
    bucket_name = compat.personalize_bucket(compat.bucket_name("personalize-measure-impact"))
    interactions_file_path = "interactions.csv"
    compat.write_frame(compat.path(interactions_file_path),
                       [r for r in inter if r["EVENT_TYPE"] in ("View", "Purchase")],
                       ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP"])
    items_file_path = "items.csv"
    compat.write_frame(compat.path(items_file_path), items,
                       ["ITEM_ID", "PRICE", "CATEGORY_L1", "CATEGORY_L2", "MARGIN"])
    for name in [interactions_file_path, items_file_path]:
        boto3.Session().resource("s3").Bucket(bucket_name).Object(name).upload_file(compat.path(name))
    role_arn = compat.ROLE_ARN

    dataset_group_arn = personalize.create_dataset_group(
        name="personalize_ecomemerce_ds_group", domain="ECOMMERCE")["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup", 30)

    schema = {"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
              "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                         {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}],
              "version": "1.0"}
    interaction_schema_arn = personalize.create_schema(
        name="personalize-ecommerce-interatn_group", domain="ECOMMERCE", schema=json.dumps(schema))["schemaArn"]
    schema = {"type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
              "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "PRICE", "type": "float"},
                         {"name": "CATEGORY_L1", "type": ["string"], "categorical": True},
                         {"name": "CATEGORY_L2", "type": ["string"], "categorical": True},
                         {"name": "MARGIN", "type": "double"}],
              "version": "1.0"}
    items_schema_arn = personalize.create_schema(
        name="personalize-ecommerce-item_group", domain="ECOMMERCE", schema=json.dumps(schema))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="personalize_ecommerce_demo_interactions", datasetType="INTERACTIONS",
        datasetGroupArn=dataset_group_arn, schemaArn=interaction_schema_arn)["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name="personalize_ecommerce_demo_items", datasetType="ITEMS",
        datasetGroupArn=dataset_group_arn, schemaArn=items_schema_arn)["datasetArn"]

    max_time = time.time() + 6 * 60 * 60
    while time.time() < max_time:
        a = personalize.describe_dataset(datasetArn=interactions_dataset_arn)["dataset"]["status"]
        if a == "CREATE FAILED":
            break
        b = personalize.describe_dataset(datasetArn=items_dataset_arn)["dataset"]["status"]
        if b == "CREATE FAILED":
            break
        print("Interactions Dataset: {}, Items Dataset: {}".format(a, b))
        if a == "ACTIVE" and b == "ACTIVE":
            break
        time.sleep(30)

    metric_attribution_name = "my-first-metric-attribution"
    for metric in personalize.list_metric_attributions(datasetGroupArn=dataset_group_arn)["metricAttributions"]:
        if metric_attribution_name == metric["name"]:
            personalize.delete_metric_attribution(metricAttributionArn=metric["metricAttributionArn"])
            time.sleep(60)
    metrics_list = [{"eventType": "View", "expression": "SAMPLECOUNT()", "metricName": "countViews"},
                    {"eventType": "Purchase", "expression": "SUM(ITEMS.MARGIN)", "metricName": "sumMargin"}]
    output_config = {"roleArn": role_arn, "s3DataDestination": {"path": "s3://" + bucket_name + "/metrics/"}}
    metric_attribution_arn = personalize.create_metric_attribution(
        name=metric_attribution_name, datasetGroupArn=dataset_group_arn, metricsOutputConfig=output_config,
        metrics=metrics_list)["metricAttributionArn"]
    description = personalize.describe_metric_attribution(metricAttributionArn=metric_attribution_arn)
    print("Status: " + description["metricAttribution"]["status"])
    d = compat.wait(lambda: personalize.describe_metric_attribution(metricAttributionArn=metric_attribution_arn),
                    "metricAttribution")
    compat.active(d, "metric attribution")
    listed = personalize.list_metric_attributions()["metricAttributions"]
    compat.expect([m["metricAttributionArn"] for m in listed] == [metric_attribution_arn], "listed: %r" % listed)

    jobs = []
    for name, arn, path in [("interactions", interactions_dataset_arn, interactions_file_path),
                            ("items", items_dataset_arn, items_file_path)]:
        jobs.append(personalize.create_dataset_import_job(
            jobName="personalize_ecommerce_demo_%s_import" % name, datasetArn=arn,
            dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, path)},
            roleArn=role_arn)["datasetImportJobArn"])
    for job_arn in jobs:
        compat.active(compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=job_arn),
                                  "datasetImportJob"), "import")

    personalize.list_recipes(domain="ECOMMERCE")
    recommended_for_you_arn = personalize.create_recommender(
        name="recommended_for_you_demo", recipeArn="arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]
    who_viewed_x_arn = personalize.create_recommender(
        name="viewed_x_also_viewed_demo",
        recipeArn="arn:aws:personalize:::recipe/aws-ecomm-customers-who-viewed-x-also-viewed",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]
    for arn in [recommended_for_you_arn, who_viewed_x_arn]:
        compat.active(compat.wait(lambda: personalize.describe_recommender(recommenderArn=arn), "recommender",
                                  max_hours=10), "recommender")

    event_tracker_response = personalize.create_event_tracker(
        datasetGroupArn=dataset_group_arn, name="amazon-personalize-event-tracker")
    event_tracker_arn = event_tracker_response["eventTrackerArn"]
    event_tracking_id = event_tracker_response["trackingId"]
    compat.wait(lambda: personalize.describe_event_tracker(eventTrackerArn=event_tracker_arn), "eventTracker",
                max_hours=1)

    today = datetime.datetime.now()
    interval_multiplier = 1
    test_users = ["3", "7"]
    for user_id in test_users:
        item_list = personalize_runtime.get_recommendations(
            recommenderArn=recommended_for_you_arn, userId=str(user_id), numResults=30)["itemList"]
        compat.expect(len(item_list) > 0, "no recommendations")
        for n, itm in enumerate(item_list[:6]):
            timestamp = int(time.mktime((today - datetime.timedelta(minutes=2 * interval_multiplier)).timetuple()))
            event = {"eventId": str(uuid.uuid4()), "eventType": ["View", "Purchase"][n % 2],
                     "itemId": itm["itemId"],
                     "metricAttribution": {"eventAttributionSource": "recommended_for_you"},
                     "sentAt": timestamp}
            personalize_events.put_events(trackingId=event_tracking_id, userId=str(user_id),
                                          sessionId=str(uuid.uuid4()), eventList=[event])
            interval_multiplier += 1
    for product_id in [items[0]["ITEM_ID"], items[1]["ITEM_ID"]]:
        item_list = personalize_runtime.get_recommendations(
            recommenderArn=who_viewed_x_arn, itemId=str(product_id), userId="3", numResults=30)["itemList"]
        for itm in item_list[:3]:
            personalize_events.put_events(
                trackingId=event_tracking_id, userId="3", sessionId=str(uuid.uuid4()),
                eventList=[{"eventId": str(uuid.uuid4()), "eventType": "View", "itemId": itm["itemId"],
                            "metricAttribution": {"eventAttributionSource": "who_viewed_x"},
                            "sentAt": int(time.time())}])

    cleanup.delete_dataset_groups([dataset_group_arn], [], compat.REGION, metric_attributions=True)


compat.run(main)
