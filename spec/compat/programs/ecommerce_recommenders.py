"""aws-samples getting_started/notebooks_managed_domains: the first ECOMMERCE
recommenders ("Customers who viewed X also viewed", "Recommended for you")
on retail-demo-store-like data, then Clean_Up_Resources.

As the notebook: the interactions file is written with pandas' index
column (to_csv without index=False) after DISCOUNT is dropped; the
dataset is imported right after create_dataset. Left out: the IAM role
(named here) and its propagation sleep.
"""
import json
import time

import boto3

import compat
import cleanup


def main():
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    region = compat.REGION
    s3 = boto3.client("s3")
    bucket_name = compat.bucket_name("personalizemanagedretailers")
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket_name)
        else:
            s3.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        print("Bucket already exists. Using bucket", bucket_name)

    items, df = compat.retail()
    interactions_file_path = "cleaned_training_data.csv"
    compat.write_frame(compat.path(interactions_file_path), df, ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP"],
                       index=True)
    boto3.Session().resource("s3").Bucket(bucket_name).Object(interactions_file_path).upload_file(
        compat.path(interactions_file_path))

    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:GetObject", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))

    response = personalize.create_dataset_group(name="personalize_ecomemerce_ds_group", domain="ECOMMERCE")
    dataset_group_arn = response["datasetGroupArn"]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        status = personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]["status"]
        print("DatasetGroup: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(15)

    interactions_schema = {"type": "record", "name": "Interactions",
                           "namespace": "com.amazonaws.personalize.schema",
                           "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                                      {"name": "TIMESTAMP", "type": "long"},
                                      {"name": "EVENT_TYPE", "type": "string"}],
                           "version": "1.0"}
    interaction_schema_arn = personalize.create_schema(
        name="personalize-ecommerce-interatn_group", domain="ECOMMERCE",
        schema=json.dumps(interactions_schema))["schemaArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="personalize_ecommerce_demo_interactions", datasetType="INTERACTIONS",
        datasetGroupArn=dataset_group_arn, schemaArn=interaction_schema_arn)["datasetArn"]

    dataset_interactions_import_job_arn = personalize.create_dataset_import_job(
        jobName="personalize_ecommerce_demo_interactions_import", datasetArn=interactions_dataset_arn,
        dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, interactions_file_path)},
        roleArn=compat.ROLE_ARN)["datasetImportJobArn"]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        job = personalize.describe_dataset_import_job(
            datasetImportJobArn=dataset_interactions_import_job_arn)["datasetImportJob"]
        status = job["status"]
        print("DatasetImportJob: {}".format(status))
        if status == "ACTIVE" or status == "CREATE FAILED":
            break
        time.sleep(60)
    compat.expect(status == "ACTIVE", "import ended %s: %s" % (status, job.get("failureReason")))

    print(personalize.list_recipes(domain="ECOMMERCE")["recipes"])
    viewed_x_also_viewed_arn = personalize.create_recommender(
        name="viewed_x_also_viewed_demo",
        recipeArn="arn:aws:personalize:::recipe/aws-ecomm-customers-who-viewed-x-also-viewed",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]
    recommended_for_you_arn = personalize.create_recommender(
        name="recommended_for_you_demo", recipeArn="arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
        datasetGroupArn=dataset_group_arn)["recommenderArn"]

    max_time = time.time() + 10 * 60 * 60
    for arn in [viewed_x_also_viewed_arn, recommended_for_you_arn]:
        while time.time() < max_time:
            recommender = personalize.describe_recommender(recommenderArn=arn)["recommender"]
            status = recommender["status"]
            if status == "ACTIVE":
                print("Build succeeded for {}".format(arn))
            elif status == "CREATE FAILED":
                print("Build failed for {}".format(arn))
            if status == "ACTIVE" or status == "CREATE FAILED":
                break
            time.sleep(60)
        compat.expect(status == "ACTIVE", "recommender ended %s: %s" % (status, recommender.get("failureReason")))

    descriptions = {i["ITEM_ID"]: i["PRODUCT_DESCRIPTION"] for i in items}
    test_user_id = df[0]["USER_ID"]
    test_item_id = df[0]["ITEM_ID"]
    item_list = personalize_runtime.get_recommendations(
        recommenderArn=viewed_x_also_viewed_arn, itemId=test_item_id, userId=test_user_id,
        numResults=20)["itemList"]
    compat.expect(len(item_list) > 0, "no viewed-x-also-viewed recommendations")
    print([descriptions[i["itemId"]] for i in item_list])
    item_list = personalize_runtime.get_recommendations(
        recommenderArn=recommended_for_you_arn, userId=test_user_id, numResults=20)["itemList"]
    compat.expect(len(item_list) > 0, "no recommended-for-you recommendations")
    print([descriptions[i["itemId"]] for i in item_list])

    cleanup.delete_dataset_groups([dataset_group_arn], [], region)


compat.run(main)
