"""aws-samples next_steps/core_use_cases/filters/promotions: an ECOMMERCE
"Recommended for you" recommender, a filter with a placeholder
(`Items.CATEGORY_L2 IN ($CATEGORY)`) polled until ACTIVE, recommendations
filtered, promoted, and both at once; then Clean_Up_Resources.

As the notebook: both CSVs are written with pandas' index column, the
items file keeps a column the schema does not name (PROMOTED). Left out:
the IAM role (named here) and its propagation sleep.
"""
import json
import time

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    personalize.list_dataset_groups()
    region = compat.REGION
    s3 = boto3.client("s3")
    bucket_name = compat.bucket_name("personalizepromotions")
    s3.create_bucket(Bucket=bucket_name)

    items_df, df = compat.retail(seed=13)
    interactions_file_path = "interactions.csv"
    compat.write_frame(compat.path(interactions_file_path), df, ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP"],
                       index=True)
    items_file_path = "items.csv"
    compat.write_frame(compat.path(items_file_path), items_df,
                       ["ITEM_ID", "PRICE", "CATEGORY_L1", "CATEGORY_L2", "GENDER", "PROMOTED"], index=True)

    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:GetObject", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_file_path).upload_file(
        compat.path(interactions_file_path))
    boto3.Session().resource("s3").Bucket(bucket_name).Object(items_file_path).upload_file(
        compat.path(items_file_path))

    dataset_group_arn = personalize.create_dataset_group(
        name="personalize_ecomemerce_ds_group", domain="ECOMMERCE")["datasetGroupArn"]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]["status"]
        print("DatasetGroup: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)

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
                         {"name": "GENDER", "type": ["string"], "categorical": True}],
              "version": "1.0"}
    items_schema_arn = personalize.create_schema(
        name="personalize-ecommerce-item_group", domain="ECOMMERCE", schema=json.dumps(schema))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="personalize_ecommerce_demo_interactions", datasetType="INTERACTIONS",
        datasetGroupArn=dataset_group_arn, schemaArn=interaction_schema_arn)["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name="personalize_ecommerce_demo_items", datasetType="ITEMS",
        datasetGroupArn=dataset_group_arn, schemaArn=items_schema_arn)["datasetArn"]

    jobs = []
    for name, arn, path in [("interactions", interactions_dataset_arn, interactions_file_path),
                            ("items", items_dataset_arn, items_file_path)]:
        jobs.append(personalize.create_dataset_import_job(
            jobName="personalize_ecommerce_demo_%s_import" % name, datasetArn=arn,
            dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, path)},
            roleArn=compat.ROLE_ARN)["datasetImportJobArn"])
    for job_arn in jobs:
        max_time = time.time() + 3 * 60 * 60
        while time.time() < max_time:
            job = personalize.describe_dataset_import_job(datasetImportJobArn=job_arn)["datasetImportJob"]
            status = job["status"]
            print("DatasetImportJob: {}".format(status))
            if status == "ACTIVE" or status == "CREATE FAILED":
                break
            time.sleep(60)
        compat.expect(status == "ACTIVE", "import ended %s: %s" % (status, job.get("failureReason")))

    personalize.list_recipes(domain="ECOMMERCE")
    recommended_for_you_arn = personalize.create_recommender(
        name="recommended_for_you_demo", recipeArn="arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]
    max_time = time.time() + 10 * 60 * 60
    while time.time() < max_time:
        recommender = personalize.describe_recommender(recommenderArn=recommended_for_you_arn)["recommender"]
        status = recommender["status"]
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "recommender ended %s: %s" % (status, recommender.get("failureReason")))

    category = {i["ITEM_ID"]: i["CATEGORY_L2"] for i in items_df}
    test_user_id = df[5]["USER_ID"]
    item_list = personalize_runtime.get_recommendations(
        recommenderArn=recommended_for_you_arn, userId=test_user_id, numResults=20)["itemList"]
    compat.expect(len(item_list) > 0, "no recommendations")

    filter_arn = personalize.create_filter(
        name="category_filter", datasetGroupArn=dataset_group_arn,
        filterExpression="INCLUDE ItemID WHERE Items.CATEGORY_L2 IN ($CATEGORY)")["filterArn"]
    max_time = time.time() + 10 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_filter(filterArn=filter_arn)["filter"]["status"]
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(30)
    compat.expect(status == "ACTIVE", "filter ended " + status)

    item_list = personalize_runtime.get_recommendations(
        recommenderArn=recommended_for_you_arn, userId=test_user_id, numResults=20, filterArn=filter_arn,
        filterValues={"CATEGORY": "\"halloween\""})["itemList"]
    cats = [category[i["itemId"]] for i in item_list]
    compat.expect(len(cats) > 0 and set(cats) == {"halloween"}, "filtered: %r" % cats)

    response = personalize_runtime.get_recommendations(
        recommenderArn=recommended_for_you_arn, userId=test_user_id, numResults=20,
        promotions=[{"name": "halloween_promotion", "percentPromotedItems": 20, "filterArn": filter_arn,
                     "filterValues": {"CATEGORY": "\"halloween\""}}])
    promoted = [i for i in response["itemList"] if i.get("promotionName") == "halloween_promotion"]
    compat.expect(len(promoted) == 4, "promoted %d of 20" % len(promoted))

    response = personalize_runtime.get_recommendations(
        recommenderArn=recommended_for_you_arn, userId=test_user_id, numResults=20, filterArn=filter_arn,
        filterValues={"CATEGORY": "\"decorative\""},
        promotions=[{"name": "halloween_promotion", "percentPromotedItems": 20, "filterArn": filter_arn,
                     "filterValues": {"CATEGORY": "\"halloween\""}}])
    cats = sorted({category[i["itemId"]] for i in response["itemList"]})
    compat.expect(cats == ["decorative", "halloween"], "filtered and promoted: %r" % cats)

    cleanup.delete_dataset_groups([dataset_group_arn], [], region)


compat.run(main)
